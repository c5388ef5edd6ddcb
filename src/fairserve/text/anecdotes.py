"""Representative anecdotes: for each topic, a few real posts that are the most typical of what people say.

Within a topic, posts are embedded as TF-IDF vectors (word 1-2 grams, L2-normalised), grouped by k-means
(Lloyd 1982; k-means++ seeding, Arthur & Vassilvitskii 2007), and each cluster is represented by the post nearest
its centroid (the highest cosine similarity): the post that shares most with the others, in the sense of a
medoid (Kaufman & Rousseeuw 1990, *Finding Groups in Data*, ch. 2). Clusters are taken largest first, so a
decision maker reads what many people say, not the loudest or most extreme post; each anecdote carries the
share of the topic its cluster stands for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = ["representative_posts"]


def representative_posts(posts: pd.DataFrame, per_topic: int = 3, max_posts: int = 5_000,
                         random_state: int = 0) -> pd.DataFrame:
    """A few representative posts per topic.

    Parameters
    ----------
    posts:
        Needs ``text`` and ``topic``; every other column (sentiment, customer tier, value, ...) is carried along.
    per_topic:
        Clusters (and so anecdotes) per topic, at most; fewer when the topic has few distinct posts.
    max_posts:
        A topic with more posts is clustered on a random sample of this size.
    random_state:
        Seed of the sampling and of k-means.

    Returns
    -------
    DataFrame
        The chosen rows of ``posts`` with ``cluster_size``, ``cluster_share`` (of the topic) and
        ``typicality`` (cosine similarity to the cluster centroid), ordered by topic volume, then cluster size.
    """
    rows = []
    order = posts["topic"].value_counts().index
    rng = np.random.default_rng(random_state)
    for topic in order:
        group = posts.loc[posts["topic"] == topic]
        group = group.loc[group["text"].astype(str).str.strip() != ""]
        if len(group) > max_posts:
            group = group.iloc[np.sort(rng.choice(len(group), size=max_posts, replace=False))]
        texts = group["text"].astype(str).tolist()
        distinct = len(set(texts))
        if distinct == 0:
            continue
        k = max(1, min(per_topic, distinct, len(texts) // 5 or 1))
        try:
            X = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1).fit_transform(texts)
        except ValueError:  # no word at all (emoji only): take the most frequent text
            first = group.iloc[[0]].assign(cluster_size=len(group), cluster_share=1.0, typicality=1.0)
            rows.append(first)
            continue
        if k == 1:
            labels = np.zeros(len(texts), dtype=int)
            centers = np.asarray(X.mean(axis=0))
        else:
            km = KMeans(n_clusters=k, n_init=3, random_state=random_state).fit(X)
            labels, centers = km.labels_, km.cluster_centers_
        sizes = np.bincount(labels, minlength=len(centers))
        for c in np.argsort(-sizes, kind="stable"):
            members = np.flatnonzero(labels == c)
            if members.size == 0:
                continue
            centre = centers[c] / max(np.linalg.norm(centers[c]), 1e-12)
            sims = np.asarray(X[members] @ centre).ravel()
            best = members[int(np.argmax(sims))]
            rows.append(group.iloc[[best]].assign(cluster_size=int(members.size),
                                                  cluster_share=round(members.size / len(texts), 4),
                                                  typicality=round(float(sims.max()), 4)))
    if not rows:
        return posts.iloc[0:0].assign(cluster_size=pd.Series(dtype=int), cluster_share=pd.Series(dtype=float),
                                      typicality=pd.Series(dtype=float))
    return pd.concat(rows)
