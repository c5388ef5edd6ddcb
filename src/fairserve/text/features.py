"""Character n-gram features computed with NumPy, for the fast sentiment model.

scikit-learn's ``TfidfVectorizer(analyzer="char")`` builds every n-gram as a Python string, about 1,000-4,000
texts a second on this machine: the slowest step of a word + character model. :class:`HashedCharNgrams` computes
the same kind of features over the UTF-8 bytes of a whole batch at once: the texts are lower-cased, runs of
white space made one space, and joined,
a rolling hash of each n-gram (n in ``ngram_range``) is computed for every byte position with vectorised NumPy
arithmetic, n-grams that cross from one text into the next are dropped, and the hash picks a column (the
"hashing trick": Weinberger et al. 2009, *Feature Hashing for Large Scale Multitask Learning*, ICML). Counts are
then weighted as in ``TfidfVectorizer(sublinear_tf=True)``: ``(1 + log tf) x idf``, with the smoothed idf
``log((1 + n) / (1 + df)) + 1`` learned by :meth:`fit`, and each row L2-normalised.

Byte n-grams of a non-ASCII character mix its bytes; that is harmless for a linear model and is what makes the
features one NumPy pass. Collisions of the hash are the usual price of hashing (``n_features`` columns).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

__all__ = ["HashedCharNgrams"]

_MUL = np.uint64(0x100000001B3)  # the 64-bit FNV prime
_CHUNK = 8_192


def _mix(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: every input bit reaches every output bit (FNV alone mixes low bits poorly)."""
    h = h ^ (h >> np.uint64(33))
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


class HashedCharNgrams:
    """TF-IDF of hashed character (byte) n-grams.

    Parameters
    ----------
    ngram_range:
        Smallest and largest n.
    n_features:
        Columns (a power of two keeps the modulo cheap).
    word_bounded:
        Keep only n-grams with no space inside (they may begin or end with one), as scikit-learn's
        ``analyzer="char_wb"``: an n-gram never spans two words.

    Attributes
    ----------
    idf_:
        The inverse document frequency of each column, learned by :meth:`fit`.
    """

    def __init__(self, ngram_range: tuple[int, int] = (2, 5), n_features: int = 2**20, word_bounded: bool = True
                 ) -> None:
        self.ngram_range = ngram_range
        self.n_features = n_features
        self.word_bounded = word_bounded

    def _counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        blocks = [self._chunk(list(texts[i:i + _CHUNK])) for i in range(0, len(texts), _CHUNK)]
        if not blocks:
            return sp.csr_matrix((0, self.n_features), dtype=np.float32)
        return sp.vstack(blocks, format="csr")

    def _chunk(self, texts: list[str]) -> sp.csr_matrix:
        encoded = [(" " + " ".join(t.lower().split()) + " ").encode("utf-8", "replace") for t in texts]
        lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
        data = np.frombuffer(b"".join(encoded), dtype=np.uint8).astype(np.uint64)
        doc = np.repeat(np.arange(len(texts), dtype=np.int32), lengths)
        spaces = np.concatenate([[0], np.cumsum(data == 32)])  # spaces before each position
        rows, cols = [], []
        lo, hi = self.ngram_range
        for n in range(lo, hi + 1):
            m = data.size - n + 1
            if m <= 0:
                continue
            h = np.full(m, np.uint64(0xCBF29CE484222325) ^ np.uint64(n))
            for k in range(n):
                h ^= data[k:k + m]
                h *= _MUL
            inside = doc[:m] == doc[n - 1:n - 1 + m]
            if self.word_bounded and n > 2:  # no space inside the n-gram (it may start or end with one)
                inside &= spaces[n - 1:n - 1 + m] == spaces[1:1 + m]
            rows.append(doc[:m][inside])
            cols.append(_mix(h[inside]) % np.uint64(self.n_features))
        row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int32)
        col = np.concatenate(cols).astype(np.int64) if cols else np.zeros(0, dtype=np.int64)
        counts = sp.csr_matrix((np.ones(row.size, dtype=np.float32), (row, col)),
                               shape=(len(texts), self.n_features))
        counts.sum_duplicates()
        return counts

    def fit(self, texts: Sequence[str], y: object = None) -> HashedCharNgrams:
        """Learn the idf of each column on ``texts``."""
        counts = self._counts(texts)
        df = np.bincount(counts.indices, minlength=self.n_features)
        self.idf_ = (np.log((1.0 + counts.shape[0]) / (1.0 + df)) + 1.0).astype(np.float32)
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Sublinear TF-IDF rows, L2-normalised."""
        if not hasattr(self, "idf_"):
            raise ValueError("HashedCharNgrams is not fitted")
        X = self._counts(texts)
        X.data = (1.0 + np.log(X.data)) * self.idf_[X.indices]
        return normalize(X, norm="l2", copy=False)

    def fit_transform(self, texts: Sequence[str], y: object = None) -> sp.csr_matrix:
        return self.fit(texts).transform(texts)
