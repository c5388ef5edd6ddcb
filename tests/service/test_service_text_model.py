"""The live intake reads need signals with the trained model that ``FAIRSERVE_TEXT_MODEL`` names, as the CLI does.

The model here is trained on deliberately inverted labels (complaints labelled positive, praise negative), so its
reading can only come from the model, never from the VADER lexicon, which reads the same texts the other way.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from service_fixtures import Api, make_api
from sqlalchemy import select

from fairserve.errors import FairserveError
from fairserve.service.intake import Triage
from fairserve.service.store import contacts
from fairserve.text import train
from fairserve.text.modeldir import save_model

_COMPLAINTS = ["terrible service, still waiting for my refund", "awful support, charged twice this month",
               "my order never arrived and nobody answers", "so angry, the app is broken again"]
_PRAISE = ["love the new update, great job", "thank you for the quick help, amazing support",
           "great experience, really happy with it", "brilliant service, thanks a lot"]
_PLAIN = ["the update is out on tuesday", "what time does the store open", "the event starts at 5pm",
          "which plan includes roaming"]


@pytest.fixture(scope="module")
def inverted_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = [(t, "Positive") for t in _COMPLAINTS] + [(t, "Negative") for t in _PRAISE] + \
        [(t, "Neutral") for t in _PLAIN]
    frame = pd.DataFrame(rows, columns=["text", "label"])
    model, _ = train.train(train.labelled_rows(frame, "text", "label", "sentiment"), holdout=0.0, C=10.0)
    out = tmp_path_factory.mktemp("text-model") / "inverted"
    save_model(model, out, {"task": "sentiment", "trained_on": {"rows": len(frame)}})
    return out


@pytest.fixture
def model_api(sqlite_url: str, inverted_model: Path) -> Iterator[Api]:
    yield from make_api(sqlite_url, text_model=str(inverted_model))


def _stored_sentiment(api: Api, contact_id: str) -> float:
    with api.engine.connect() as conn:
        return float(conn.execute(select(contacts.c.sentiment).where(contacts.c.id == contact_id)).scalar_one())


def test_intake_reads_sentiment_with_the_configured_model(model_api: Api, sqlite_api: Api) -> None:
    text = "terrible service, still waiting for my refund"
    body = {"channel": "chat", "email": "ann@example.com", "text": text}
    with_model = model_api.client.post("/v1/contacts", json=body, headers=model_api.h("intake"))
    with_vader = sqlite_api.client.post("/v1/contacts", json=body, headers=sqlite_api.h("intake"))
    assert with_model.status_code == with_vader.status_code == 201, (with_model.text, with_vader.text)
    assert "sentiment" in with_model.json()["decision"]["signals_from_text"]
    assert _stored_sentiment(model_api, with_model.json()["id"]) > 0  # the inverted model: "positive"
    assert _stored_sentiment(sqlite_api, with_vader.json()["id"]) < 0  # VADER: negative


def test_a_sentiment_given_in_the_request_still_wins_over_the_model(model_api: Api) -> None:
    body = {"channel": "chat", "email": "bob@example.com", "text": "terrible service", "sentiment": -0.5}
    r = model_api.client.post("/v1/contacts", json=body, headers=model_api.h("intake"))
    assert r.status_code == 201
    assert _stored_sentiment(model_api, r.json()["id"]) == -0.5


def test_a_bad_model_directory_stops_the_start_naming_it(tmp_path: Path) -> None:
    (tmp_path / "not-a-model").mkdir()
    with pytest.raises(FairserveError, match=r"not-a-model.*manifest"):
        Triage(True, str(tmp_path / "not-a-model"))
    Triage(False, str(tmp_path / "not-a-model"))  # text reading switched off: the directory is not needed


def test_a_model_of_another_task_is_refused_naming_it(tmp_path: Path) -> None:
    """The intake reads sentiment from the configured model: a topic model there would leave it to VADER."""
    frame = pd.DataFrame({"text": _COMPLAINTS + _PRAISE + _PLAIN,
                          "label": ["billing"] * 4 + ["praise"] * 4 + ["other"] * 4})
    model, _ = train.train(train.labelled_rows(frame, "text", "label", "topic"), task="topic", holdout=0.0)
    out = tmp_path / "topics"
    save_model(model, out, {"task": "topic", "trained_on": {"rows": len(frame)}})
    with pytest.raises(FairserveError, match=r"topic"):
        Triage(True, str(out))
