"""A trained text model on disk: a directory with ``model.joblib``, a ``manifest.json`` and (for the accurate
and tuned kinds) the MiniLM files it needs, so that loading needs no network.

An edge module (it reads and writes files), like :mod:`fairserve.text.corpora`. The manifest records what the
model was trained on (file name, its sha256, rows, columns, classes), when, with which versions, its measured
scores, and the sha256 of every file in the directory. :func:`load_model` refuses a directory whose files do not
match their hashes, whose format is unknown or whose task is not the one asked for, naming the file: a
``joblib`` file is a pickle, so only a directory whose hashes match the manifest is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import sklearn

from fairserve.errors import FairserveError

__all__ = ["FORMAT", "LoadedModel", "file_sha256", "load_model", "load_triage", "save_model"]

FORMAT = "fairserve-text-model/1"
_MODEL = "model.joblib"
_MANIFEST = "manifest.json"


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class LoadedModel:
    """A model read back from its directory, with its manifest."""

    model: Any
    manifest: dict[str, Any]
    path: Path

    @property
    def task(self) -> str:
        return str(self.manifest["task"])


def save_model(model: Any, out: Path, manifest: dict[str, Any], encoder_files: dict[str, Path] | None = None
               ) -> dict[str, Any]:
    """Write ``model`` and its manifest into directory ``out`` (created; files in it are replaced).

    ``manifest`` carries the caller's facts (task, trained_on, scores); this adds the format, the time, the
    versions and the hash of every file. ``encoder_files`` (name -> path) are copied beside the model, and the
    model is stored without its encoder (which :func:`load_model` rebuilds from those files).
    """
    out.mkdir(parents=True, exist_ok=True)
    encoder = getattr(model, "encoder", None)
    if encoder is not None:
        model.encoder = None
    try:
        joblib.dump(model, out / _MODEL, compress=3)
    finally:
        if encoder is not None:
            model.encoder = encoder
    for name, src in (encoder_files or {}).items():
        shutil.copyfile(src, out / name)
    names = [_MODEL, *(encoder_files or {})]
    if hasattr(model, "write_weights"):  # the tuned kind: fine-tuned weights, configuration and tokenizer
        names += model.write_weights(out)
    full = {
        "format": FORMAT,
        **manifest,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": {"scikit-learn": sklearn.__version__, "fairserve": _version()},
        "files": {name: file_sha256(out / name) for name in names},
    }
    full["hash"] = hashlib.sha256(json.dumps(full["files"], sort_keys=True).encode()).hexdigest()
    (out / _MANIFEST).write_text(json.dumps(full, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return full


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fairserve")
    except PackageNotFoundError:  # pragma: no cover - only from a source tree without install
        return "unknown"


def load_model(path: Path, task: str | None = None, threads: int = 2) -> LoadedModel:
    """Read a model directory, checking its manifest first (format, task, every file's sha256)."""
    path = Path(path)
    manifest_file = path / _MANIFEST
    if not path.exists():
        raise FairserveError(f"{path}: no such model directory (train one with `fairserve text train`)")
    if not path.is_dir():
        raise FairserveError(f"{path}: not a model directory (train one with `fairserve text train`)")
    if not manifest_file.is_file():
        raise FairserveError(f"{manifest_file}: missing; a model directory needs the manifest written by training")
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FairserveError(f"{manifest_file}: not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise FairserveError(f"{manifest_file}: format is not '{FORMAT}'")
    if task is not None and manifest.get("task") != task:
        labels = manifest.get("trained_on", {}).get("labels") if isinstance(manifest.get("trained_on"), dict) else None
        classes = f" (classes {', '.join(map(str, labels))})" if isinstance(labels, dict) and labels else ""
        raise FairserveError(f"{manifest_file}: a '{manifest.get('task')}' model{classes}, not a '{task}' model")
    files = manifest.get("files")
    if not isinstance(files, dict) or _MODEL not in files:
        raise FairserveError(f"{manifest_file}: lists no files")
    for name, digest in files.items():
        f = path / name
        if not f.is_file():
            raise FairserveError(f"{f}: missing (listed in the manifest)")
        if file_sha256(f) != digest:
            raise FairserveError(f"{f}: its sha256 does not match the manifest; the model was changed after training")
    if manifest.get("versions", {}).get("scikit-learn") != sklearn.__version__:
        raise FairserveError(
            f"{manifest_file}: trained with scikit-learn {manifest.get('versions', {}).get('scikit-learn')}, "
            f"this is {sklearn.__version__}; retrain the model")
    model = joblib.load(path / _MODEL)
    if "model.onnx" in files:
        from fairserve.text.embed import MiniLM

        # no embedding cache when classifying: the texts of users are not written anywhere
        model.encoder = MiniLM(path / "model.onnx", path / "tokenizer.json", threads=threads, cache_dir=None)
    if hasattr(model, "read_weights"):  # the tuned kind: needs PyTorch (a clear error names the extra)
        model.read_weights(path, threads=threads)
    return LoadedModel(model, manifest, path)


def load_triage(dirs: list[Path] | None = None, threads: int = 2, task: str | None = None) -> Any:
    """A :class:`~fairserve.text.classify.TextTriage` from model directories (one per task), else VADER.

    The one place that turns model directories into a triage, for the CLI (``--model``), the live service's intake
    and scenario texts. ``dirs`` None: the directory in ``$FAIRSERVE_TEXT_MODEL``, if set. A task without a
    directory uses its rule (and sentiment the VADER lexicon); two directories of one task are refused.
    ``task``: every directory must hold a model of this task (``policy explain --text-model`` takes a sentiment
    model; a topic model there would silently leave sentiment to VADER), else the error names its task. The
    directory of ``$FAIRSERVE_TEXT_MODEL`` must always hold a sentiment model (the error names the variable and
    the task found): it is the one model of the service's intake, ``decide`` and the scenarios' texts.
    """
    import os

    from fairserve.text.classify import TextTriage

    from_env = dirs is None and bool(os.environ.get("FAIRSERVE_TEXT_MODEL"))
    if dirs is None:
        dirs = [Path(os.environ["FAIRSERVE_TEXT_MODEL"])] if from_env else []
    sentiment = None
    tasks: dict[str, Any] = {}
    for d in dirs or []:
        if from_env:  # the variable names THE sentiment model (service, decide, scenarios): another task is refused
            try:
                loaded = load_model(d, task="sentiment", threads=threads)
            except FairserveError as exc:
                raise FairserveError(f"$FAIRSERVE_TEXT_MODEL={d}: {exc}") from None
        else:
            loaded = load_model(d, task=task, threads=threads)
        if loaded.task == "sentiment" and sentiment is None:
            sentiment = loaded.model
        elif loaded.task != "sentiment" and loaded.task not in tasks:
            tasks[loaded.task] = loaded.model
        else:
            raise FairserveError(f"{d}: a second '{loaded.task}' model (give one directory per task)")
    return TextTriage(sentiment=sentiment, task_models=tasks)
