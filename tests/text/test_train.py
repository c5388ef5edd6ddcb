import json
from pathlib import Path

import pytest

from fairserve.errors import FairserveError
from fairserve.text import train
from fairserve.text.modeldir import load_model, save_model


def test_irrelevant_labels_are_left_out_of_sentiment_training(labelled) -> None:  # type: ignore[no-untyped-def]
    rows = train.labelled_rows(labelled, "text", "label", "sentiment")
    assert len(rows) == len(labelled) - 1
    assert set(rows["label"]) == {"negative", "neutral", "positive"}


def test_train_scores_a_grouped_holdout_and_refits_on_everything(labelled) -> None:  # type: ignore[no-untyped-def]
    rows = train.labelled_rows(labelled, "text", "label", "sentiment")
    model, held = train.train(rows, groups="tweet_id", holdout=0.25, C=10.0)
    assert held is not None and held.rows == 6  # 6 of 24 tweets held out, each counted once
    assert 0.0 <= held.macro_f1 <= 1.0
    assert train.evaluate(model, rows["text"], rows["label"]).accuracy == 1.0


def test_a_saved_model_loads_back_and_predicts_the_same(tmp_path: Path, labelled) -> None:  # type: ignore[no-untyped-def]
    rows = train.labelled_rows(labelled, "text", "label", "sentiment")
    model, _ = train.train(rows, holdout=0.0)
    manifest = save_model(model, tmp_path / "m", {"task": "sentiment", "trained_on": {"rows": len(rows)}})
    loaded = load_model(tmp_path / "m", task="sentiment")
    assert loaded.manifest["hash"] == manifest["hash"]
    texts = ["I hate this", "what a great day", "the shop opens at 9"]
    assert list(loaded.model.predict(texts)) == list(model.predict(texts))


def test_loading_refuses_a_changed_file_a_wrong_task_and_a_missing_manifest(tmp_path: Path, labelled
                                                                             ) -> None:  # type: ignore[no-untyped-def]
    rows = train.labelled_rows(labelled, "text", "label", "sentiment")
    model, _ = train.train(rows, holdout=0.0)
    save_model(model, tmp_path / "m", {"task": "sentiment"})
    with pytest.raises(FairserveError, match="not a 'topic' model"):
        load_model(tmp_path / "m", task="topic")
    with (tmp_path / "m" / "model.joblib").open("ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(FairserveError, match=r"model\.joblib: its sha256 does not match"):
        load_model(tmp_path / "m")
    (tmp_path / "m" / "manifest.json").unlink()
    with pytest.raises(FairserveError, match=r"manifest\.json: missing"):
        load_model(tmp_path / "m")


def test_topic_models_learn_the_users_own_labels(labelled) -> None:  # type: ignore[no-untyped-def]
    frame = labelled.assign(topic=labelled["text"].str.contains("refund|charged|money").map(
        {True: "billing", False: "other"}))
    rows = train.labelled_rows(frame, "text", "topic", "topic")
    model, _ = train.train(rows, task="topic", holdout=0.0, C=20.0)
    assert list(model.predict(["awful support, charged twice this month", "the store is on main street"])) == [
        "billing", "other"]
    assert json.dumps(train.evaluate(model, rows["text"], rows["label"]).to_dict())


def test_a_topic_model_in_the_environment_variable_is_refused_naming_both(
        tmp_path: Path, labelled, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    from cli_helpers import run_cli
    from fairserve.text.modeldir import load_triage

    frame = labelled.assign(topic=labelled["text"].str.contains("refund|charged|money").map(
        {True: "billing", False: "other"}))
    topic, _ = train.train(train.labelled_rows(frame, "text", "topic", "topic"), task="topic", holdout=0.0)
    save_model(topic, tmp_path / "topic", {"task": "topic", "trained_on": {"labels": {"billing": 6, "other": 42}}})
    sentiment, _ = train.train(train.labelled_rows(labelled, "text", "label", "sentiment"), holdout=0.0)
    save_model(sentiment, tmp_path / "sentiment", {"task": "sentiment"})
    # given as a directory (--model), a topic model is a topic model beside the sentiment model
    assert load_triage([tmp_path / "topic"]).method["topic"].startswith("trained")
    # named by the variable (the service's intake, decide and the scenarios read it), it must be a sentiment model
    monkeypatch.setenv("FAIRSERVE_TEXT_MODEL", str(tmp_path / "topic"))
    with pytest.raises(FairserveError, match=r"\$FAIRSERVE_TEXT_MODEL=.*topic.*a 'topic' model \(classes billing, "
                                             r"other\), not a 'sentiment' model"):
        load_triage()
    posts = tmp_path / "posts.csv"
    posts.write_text("text\nmy bill is wrong\n")
    code, _, err = run_cli(["text", "classify", str(posts)], capsys)
    assert code == 2 and "$FAIRSERVE_TEXT_MODEL=" in err and "a 'topic' model" in err and "Traceback" not in err
    monkeypatch.setenv("FAIRSERVE_TEXT_MODEL", str(tmp_path / "sentiment"))
    assert load_triage().method["sentiment"].startswith("trained model")
