"""``fairserve text train|evaluate|classify`` and ``fairserve listen``: thin commands over :mod:`fairserve.text`.

They read files (CSV, JSON lines, Parquet or plain text, one post a line), call the library and write results.
Bad input gives a result or an error naming the file, row and field (exit 2), never a traceback: a file that is
not UTF-8 is read with the bad bytes replaced and the rows named on stderr; a missing text column names the
columns the file has.

Which sentiment model ``classify``, ``listen`` and ``policy explain --text`` use: ``--model DIR`` (repeatable, one
directory a task), else the directory in ``$FAIRSERVE_TEXT_MODEL``, else the VADER lexicon (said on stderr).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from fairserve.cli.common import TABLE_SUFFIXES, check_output, console, err_console, print_json
from fairserve.errors import FairserveError
from fairserve.text.posts import check_reach, read_posts

__all__ = ["classify_one", "load_triage", "read_posts", "register"]

text_app = typer.Typer(help="Text triage: train and evaluate models, classify posts and messages.",
                       no_args_is_help=True)

TextCol = Annotated[str, typer.Option("--text-col", help="The column holding the text.")]
LabelCol = Annotated[str, typer.Option("--label-col", help="The column holding the label.")]
Models = Annotated[list[Path] | None, typer.Option("--model", help="A trained model directory (repeat: one a task).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


# ------------------------------------------------------------------------------------------------- reading


# -------------------------------------------------------------------------------------------------- models


def load_triage(models: list[Path] | None, quiet: bool = False, task: str | None = None) -> Any:
    """A :class:`~fairserve.text.classify.TextTriage` from model directories, ``$FAIRSERVE_TEXT_MODEL`` or VADER.

    ``task``: every directory must hold a model of this task (see :func:`fairserve.text.modeldir.load_triage`).
    """
    from fairserve.text.modeldir import load_triage as triage_of

    triage = triage_of(list(models) if models else None, task=task)  # none given: $FAIRSERVE_TEXT_MODEL, else VADER
    if triage.method["sentiment"].startswith("lexicon") and not quiet:
        err_console.print("note: no trained sentiment model (--model or $FAIRSERVE_TEXT_MODEL); using the VADER "
                          "lexicon (macro-F1 about 0.5 on brand tweets, see docs/listening.md)")
    return triage


def classify_one(text: str, models: list[Path] | None = None) -> dict[str, Any]:
    """Classify one text (for ``policy explain --text``): the triage row and how each task was read.

    The model (``--text-model`` or ``$FAIRSERVE_TEXT_MODEL``) is the sentiment model: a directory of another task
    is refused, not read as a topic model beside the VADER lexicon.
    """
    triage = load_triage(models, quiet=True, task="sentiment")
    row = triage.classify([text]).iloc[0].to_dict()
    row["method"] = triage.method
    return row


# ------------------------------------------------------------------------------------------------ commands


@text_app.command("train")
def train_cmd(
    labeled: Annotated[Path, typer.Argument(help="Labelled texts (.csv, .tsv, .jsonl, .parquet).")],
    out: Annotated[Path, typer.Option("--out", help="The model directory to write.")],
    text_col: TextCol = "text",
    label_col: LabelCol = "label",
    task: Annotated[str, typer.Option("--task", help="sentiment, complaint, urgency or topic.")] = "sentiment",
    kind: Annotated[str, typer.Option("--kind", help="fast (default), accurate (adds MiniLM embeddings) or tuned "
                                      "(fine-tunes MiniLM; needs fairserve\\[text-tuned]).")] = "fast",
    group_col: Annotated[str | None, typer.Option(
        "--group-col", help="Rows sharing this value (paraphrases of one tweet) weigh as one and stay on one "
        "side of the hold-out split.")] = None,
    holdout: Annotated[float, typer.Option("--holdout", min=0.0, max=0.5,
                                           help="Share of groups held out to score the model (0: none).")] = 0.1,
    c: Annotated[float | None, typer.Option(
        "--C", help="Inverse regularisation strength of every view (default: chosen by grouped cross-validation "
        "on the training rows).")] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, help="tuned: passes over the tweets (groups) "
                                               "when fine-tuning (default 2).")] = None,
    lr: Annotated[float | None, typer.Option("--lr", min=1e-7, help="tuned: AdamW's learning rate (default 4e-5)."
                                             )] = None,
    as_json: JsonOpt = False,
) -> None:
    """Train a text model and write it, with its manifest, to a directory."""
    from fairserve.text import train
    from fairserve.text.modeldir import file_sha256, save_model

    check_output(out, "model directory", folder=True)
    tuned = task == "sentiment" and kind == "tuned"
    if tuned:
        from fairserve.text.tuned import require_torch

        require_torch()  # before anything is read: exit 2 naming the extra
    frame = read_posts(labeled, text_col, (label_col,) + ((group_col,) if group_col else ()),
                       options={label_col: "--label-col", group_col or "": "--group-col"})
    rows, dropped = train.split_labelled(frame, text_col, label_col, task)
    if rows.empty:
        raise FairserveError(f"{labeled}: no row has a usable '{label_col}' label for the {task} task")
    if len(dropped):
        err_console.print(f"note: {labeled}: {_dropped_note(dropped, label_col, task)}")
    encoder, files = None, None
    if kind == "accurate":
        from fairserve.text.corpora import minilm_files
        from fairserve.text.embed import MiniLM

        files = minilm_files()
        encoder = MiniLM(files["model.onnx"], files["tokenizer.json"])
    options: dict[str, Any] = {}
    if tuned:
        from fairserve.text.corpora import minilm_base_files

        options = {"base_dir": minilm_base_files()}
        options |= {k: v for k, v in (("epochs", epochs), ("lr", lr)) if v is not None}
    err_console.print(f"training the {task} model ({kind}) on {len(rows):,} rows of {labeled}")
    with _progress(f"training the {task} model ({kind})"):
        model, held = train.train(rows, task=task, kind=kind, groups=group_col, holdout=holdout, C=c,
                                  encoder=encoder, tuned=options)
    manifest = {
        "task": task,
        "kind": kind if task == "sentiment" else "fast",
        "trained_on": {"file": Path(labeled).name, "sha256": file_sha256(Path(labeled)), "rows": len(rows),
                       "dropped_rows": len(dropped), "text_col": text_col, "label_col": label_col,
                       "group_col": group_col,
                       "labels": {str(k): int(v) for k, v in rows["label"].value_counts().items()}},
        "parameters": _parameters(getattr(model, "fast_", model), holdout) | _tuned_parameters(model),
        "scores": {"holdout": held.to_dict() if held is not None else None},
    }
    full = save_model(model, out, manifest, files)
    if as_json:
        print_json(full)
        return
    score = f"hold-out macro-F1 {held.macro_f1:.3f}, accuracy {held.accuracy:.3f}" if held else "no hold-out"
    console.print(f"wrote {out} ({task}, {kind}; {score}; hash {full['hash'][:12]})")


def _dropped_note(dropped: pd.Series, label_col: str, task: str, what: str = "training") -> str:
    """How many rows ``what`` (training, evaluation) left out and why, with the first few row numbers of each
    reason."""
    reasons = {"empty text": "an empty text", "no label": f"an empty '{label_col}'",
               "unknown label": f"a '{label_col}' that is not negative, neutral or positive"}
    parts = []
    for reason, rows in dropped.groupby(dropped, sort=False):
        numbers = ", ".join(map(str, rows.index[:5])) + (", ..." if len(rows) > 5 else "")
        parts.append(f"{len(rows):,} with {reasons.get(str(reason), str(reason))} "
                     f"({'row' if len(rows) == 1 else 'rows'} {numbers})")
    return f"{len(dropped):,} row(s) left out of the {task} {what}: " + "; ".join(parts)


def _parameters(model: object, holdout: float) -> dict[str, object]:
    """The manifest's record of how the model was fitted: the C asked for, and what training chose and saw."""
    weights = getattr(model, "weights_", None)
    chosen = getattr(model, "C_", None)
    return {
        "C": getattr(model, "C", None),
        "C_chosen": {str(k): float(v) for k, v in chosen.items()} if isinstance(chosen, dict) else None,
        "weights": [round(float(w), 6) for w in weights] if weights is not None else None,
        "validation": getattr(model, "validation_", None),
        "holdout": holdout,
    }


def _tuned_parameters(model: Any) -> dict[str, object]:
    """The tuned kind's fine-tuning settings, what it did and the base model's source and hash ({} otherwise)."""
    if not hasattr(model, "net_"):
        return {}
    from fairserve.text.corpora import MINILM_BASE_PACKAGE
    from fairserve.text.modeldir import file_sha256

    base = Path(model.base_dir)
    return {"tuned": {
        **{k: getattr(model, k) for k in ("epochs", "lr", "max_len", "batch_size", "per_group", "weight")},
        "training": getattr(model, "training_", None),
        "base_model": {"package": "==".join(MINILM_BASE_PACKAGE), "name": "sentence-transformers/all-MiniLM-L6-v2",
                       "files": {n: file_sha256(base / n) for n in ("config.json", "model.safetensors",
                                                                   "tokenizer.json")}}}}


@contextlib.contextmanager
def _progress(text: str) -> Iterator[None]:
    """The progress bar on a terminal; elsewhere one stderr line as each reported task finishes."""
    from fairserve.value.progress import listening, progress_bar

    if err_console.is_terminal:
        with progress_bar(err_console, text):
            yield
        return
    started: dict[str, float] = {}

    def line(name: str, fraction: float | None) -> None:
        started.setdefault(name, time.perf_counter())
        if fraction is not None and fraction >= 1.0:
            err_console.print(f"{name}: done in {time.perf_counter() - started[name]:.0f} s")

    with listening(line):
        yield


@text_app.command("evaluate")
def evaluate_cmd(
    labeled: Annotated[Path, typer.Argument(help="Labelled texts (.csv, .tsv, .jsonl, .parquet).")],
    model: Annotated[Path, typer.Option("--model", help="A trained model directory.")],
    text_col: TextCol = "text",
    label_col: LabelCol = "label",
    as_json: JsonOpt = False,
) -> None:
    """Accuracy, macro-F1, per-class report and confusion matrix of a trained model on labelled texts."""
    from fairserve.text import train
    from fairserve.text.modeldir import load_model

    loaded = load_model(model)
    frame = read_posts(labeled, text_col, (label_col,), options={label_col: "--label-col"})
    rows, dropped = train.split_labelled(frame, text_col, label_col, loaded.task)
    if len(dropped):
        err_console.print(f"note: {labeled}: {_dropped_note(dropped, label_col, loaded.task, 'evaluation')}")
    classes = [str(c) for c in getattr(loaded.model, "classes_", [])]
    found = rows["label"].astype(str).unique().tolist()
    if rows.empty or not set(found) & set(classes):
        values = frame[label_col].astype(str).str.strip()
        seen = values[values != ""].value_counts().index[:10].tolist()
        raise FairserveError(
            f"{labeled}, field '{label_col}': the labels do not match the model {model}, a '{loaded.task}' model "
            f"of classes {', '.join(classes)}; the file's labels are {', '.join(seen) or 'none'} (give labels "
            f"of that task, or the model trained for these labels)")
    unknown = sorted(set(found) - set(classes))
    if unknown:
        err_console.print(f"note: {labeled}, field '{label_col}': {', '.join(unknown)} not among the model's "
                          f"classes ({', '.join(classes)}); those rows count as errors")
    result = train.evaluate(loaded.model, rows["text"].tolist(), rows["label"].tolist())
    payload = {"model": str(model), "model_hash": loaded.manifest.get("hash"), "task": loaded.task,
               "file": str(labeled), "dropped_rows": len(dropped), **result.to_dict()}
    if as_json:
        print_json(payload)
        return
    console.print(f"{labeled}: {result.rows:,} rows; accuracy {result.accuracy:.3f}, macro-F1 {result.macro_f1:.3f}")
    for name, m in result.per_class.items():
        console.print(f"  {name:>12}: precision {m['precision']:.3f} recall {m['recall']:.3f} f1 {m['f1-score']:.3f}"
                      f" (n={int(m['support'])})")
    console.print("confusion matrix (rows: truth, columns: predicted; " + ", ".join(result.labels) + ")")
    for name, row in zip(result.labels, result.confusion, strict=True):
        console.print(f"  {name:>12}: " + " ".join(f"{v:6d}" for v in row))


def _stream(triage: Any, text_col: str) -> Iterator[str]:
    """One JSON line (an object with ``text_col``, or a JSON string) in, one JSON line out."""
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            yield json.dumps({"line": number, "error": "not valid JSON"})
            continue
        if isinstance(record, str):
            record = {text_col: record}
        if not isinstance(record, dict) or text_col not in record:
            yield json.dumps({"line": number, "error": f"no field '{text_col}'"})
            continue
        row = triage.classify([record[text_col]]).iloc[0].to_dict()
        out = {k: v for k, v in record.items() if k != text_col}
        out.update({k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()})
        yield json.dumps(out, ensure_ascii=False)


@text_app.command("classify")
def classify_cmd(
    file: Annotated[str, typer.Argument(help="Posts file (.csv, .tsv, .jsonl, .parquet, .txt) or - for JSON "
                                        "lines on stdin (one in, one out).")],
    text_col: TextCol = "text",
    models: Models = None,
    as_json: Annotated[bool, typer.Option("--json", help="Write JSON lines.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file (.csv, .jsonl, .parquet).")] = None,
) -> None:
    """Sentiment, complaint, urgency and topic for every text; other columns are kept."""
    if out is not None:
        check_output(out, "output", suffixes=TABLE_SUFFIXES)
    if file == "-":
        triage = load_triage(models)
        for line in _stream(triage, text_col):
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        return
    frame = read_posts(file, text_col)
    triage = load_triage(models)
    result = triage.classify(frame[text_col].tolist())
    result.index = frame.index
    keep = frame.drop(columns=[c for c in result.columns if c in frame.columns])
    table = pd.concat([keep, result], axis=1)
    _write(table, out, as_json)


def _write(table: pd.DataFrame, out: Path | None, as_json: bool) -> None:
    if out is not None:
        name = out.name.lower()
        if name.endswith((".parquet", ".pq")):
            table.to_parquet(out, index=False)
        elif name.endswith((".jsonl", ".ndjson")) or as_json:
            table.to_json(out, orient="records", lines=True, force_ascii=False)
        else:
            table.to_csv(out, index=False)
        err_console.print(f"wrote {len(table):,} rows to {out}")
    elif as_json:
        sys.stdout.write(table.to_json(orient="records", lines=True, force_ascii=False))
    else:
        table.to_csv(sys.stdout, index=False)


# --------------------------------------------------------------------------------------------------- listen


def listen_cmd(
    posts: Annotated[Path, typer.Argument(help="Posts: text, date, and optionally handle, profile, followers, "
                                          "reposts, replies, likes, verified, public.")],
    customers: Annotated[Path | None, typer.Option("--customers", help="Scores file (`fairserve value score`); "
                                                   "handle/email/phone columns link posts to customers.")] = None,
    links: Annotated[Path | None, typer.Option("--links", help="Confirmed links: handle, customer_id.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only posts on or after this date (YYYY-MM-DD).")
                     ] = None,
    out: Annotated[Path, typer.Option("--out", help="The HTML report to write.")] = Path("listening.html"),
    png: Annotated[Path | None, typer.Option("--png", help="Also write the charts as one PNG picture.")] = None,
    text_col: TextCol = "text",
    date_col: Annotated[str, typer.Option("--date-col", help="The column holding the post's date.")] = "date",
    recent_days: Annotated[int, typer.Option("--recent-days", min=1, help="The window for rising topics.")] = 7,
    threshold: Annotated[float, typer.Option("--risk-threshold", help="Flag posts at this risk or more.")] = 3.0,
    models: Models = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON document (posts, dates, "
                                          "links, flags, rising topics, files written) instead of lines.")] = False,
) -> None:
    """The listening report: volume and sentiment over time, rising topics, top risks, anecdotes per topic."""
    from fairserve import io
    from fairserve.report.listening import render_listening, render_png
    from fairserve.text import identity, listening, risk

    check_output(out, "report", suffixes=(".html", ".htm"))
    if png is not None:
        check_output(png, "picture", suffixes=(".png",))
        if png.resolve() == out.resolve():
            raise FairserveError(f"{png}: --png and --out name the same file")
    frame = read_posts(posts, text_col, (date_col,), options={date_col: "--date-col"})
    frame = check_reach(frame, str(posts))
    # every input is read (and refused, if it must be) before the texts are classified
    cust = io.read_scores(customers) if customers is not None else None
    link_frame = read_posts(links, "handle", ("customer_id",)) if links is not None else None
    dates = _dates(frame[date_col])
    bad = dates.isna()
    if bad.all():
        raise FairserveError(f"{posts}, field '{date_col}': no row has a readable date (row 1: "
                             f"{frame[date_col].iloc[0]!r})")
    if bad.any():
        rows = ", ".join(map(str, frame.index[bad][:5]))
        err_console.print(f"warning: {posts}, field '{date_col}': {int(bad.sum())} row(s) without a readable date "
                          f"left out (rows {rows}{', ...' if bad.sum() > 5 else ''})")
    frame = frame.loc[~bad].assign(date=dates[~bad].dt.tz_localize(None))
    if since is not None:
        try:
            start = pd.Timestamp(date.fromisoformat(since))
        except ValueError:
            raise typer.BadParameter(f"--since {since!r} is not a date (YYYY-MM-DD)") from None
        frame = frame.loc[frame["date"] >= start]
        if frame.empty:
            raise FairserveError(f"{posts}: no post on or after {since}")
    triage = load_triage(models)
    result = triage.classify(frame[text_col].tolist())
    result.index = frame.index
    scored = pd.concat([frame.drop(columns=[c for c in result.columns if c in frame.columns]), result], axis=1)
    scored["text"] = frame[text_col]
    scored = pd.concat([scored, risk.score_posts(scored, scored["sentiment_score"], threshold)], axis=1)
    scored = pd.concat([scored.drop(columns=["customer_id"], errors="ignore"),
                        identity.link_posts(scored, cust, link_frame)], axis=1)
    if cust is not None:
        extra = [c for c in ("tier", "clv", "value", "loyalty") if c in cust.columns]
        if extra:
            scored = scored.merge(cust[["customer_id", *extra]].drop_duplicates("customer_id"), how="left",
                                  on="customer_id")
    summary = listening.listen(scored, recent_days=recent_days)
    html = render_listening(summary, source=Path(posts).name, method=triage.method, threshold=threshold)
    picture = render_png(summary) if png is not None else None  # drawn before anything is written
    out.write_text(html, encoding="utf-8")
    if png is not None and picture is not None:
        png.write_bytes(picture)
    flagged = int(scored["risk_flag"].sum())
    rising_topics = [str(t) for t in summary.rising.loc[summary.rising["rising"], "topic"]]
    if as_json:  # the same facts as the lines below, and the tables behind them (no post's text)
        print_json({
            "posts": summary.posts, "start": f"{summary.start:%Y-%m-%d}", "end": f"{summary.end:%Y-%m-%d}",
            "linked": summary.linked, "flagged": flagged, "risk_threshold": threshold, "rising": rising_topics,
            "recent_days": summary.recent_days, "method": triage.method,
            "topics": summary.topics.to_dict(orient="records"),
            "rising_topics": summary.rising.to_dict(orient="records"),
            "report": str(out), "png": str(png) if png is not None else None,
        })
        return
    console.print(f"{summary.posts:,} posts ({summary.start:%Y-%m-%d} to {summary.end:%Y-%m-%d}); "
                  f"{summary.linked:,} linked to customers; {flagged:,} flagged for social care; "
                  f"rising: {', '.join(rising_topics) or 'none'}")
    console.print(f"wrote {out}" + (f" and {png}" if png else ""))


def _dates(values: pd.Series) -> pd.Series:
    """Dates as UTC timestamps, NaT where unreadable: ISO 8601 first (fast), then each other value on its own.

    Explicit formats, so pandas never guesses one from the first row (and warns about it on stderr).
    """
    dates = pd.to_datetime(values, format="ISO8601", errors="coerce", utc=True)
    rest = dates.isna() & values.astype(str).str.strip().ne("")
    if rest.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            dates.loc[rest] = pd.to_datetime(values[rest], format="mixed", errors="coerce", utc=True)
    return dates


def register(app: typer.Typer) -> None:
    """Add the ``text`` command group and the ``listen`` command to ``app``."""
    app.add_typer(text_app, name="text")
    app.command("listen")(listen_cmd)

