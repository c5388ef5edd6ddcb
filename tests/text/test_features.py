import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from fairserve.text.features import HashedCharNgrams

TEXTS = ["Hello  world, foo!", "the flight was DELAYED again", "", "ça coûte trop cher", "bumped after 15 min"]


def test_the_ngrams_are_those_of_scikit_learns_char_wb_analyzer() -> None:
    ours = HashedCharNgrams((2, 5)).fit(TEXTS).transform(TEXTS)
    theirs = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).fit(TEXTS).transform(TEXTS)
    ascii_rows = [0, 1, 4]  # bytes and characters differ only outside ASCII
    assert [ours[i].nnz for i in ascii_rows] == [theirs[i].nnz for i in ascii_rows]


def test_rows_are_unit_length_and_idf_weighs_rare_ngrams_more() -> None:
    vec = HashedCharNgrams((2, 3)).fit(["aa bb", "aa cc", "aa dd"])
    X = vec.transform(["aa bb"])
    np.testing.assert_allclose((X.multiply(X)).sum(), 1.0, rtol=1e-5)
    common, rare = vec.transform(["aa"]), vec.transform(["bb"])
    assert common.nnz == rare.nnz
    assert vec.idf_[rare.indices].max() > vec.idf_[common.indices].max()


def test_unfitted_transform_is_refused() -> None:
    with pytest.raises(ValueError, match="not fitted"):
        HashedCharNgrams().transform(["x"])


def test_batches_larger_than_a_chunk_give_the_same_rows() -> None:
    vec = HashedCharNgrams().fit(TEXTS)
    many = TEXTS * 2000
    X = vec.transform(many)
    assert X.shape[0] == len(many)
    assert (X[len(TEXTS) * 1999 + 1] != vec.transform([TEXTS[1]])).nnz == 0
