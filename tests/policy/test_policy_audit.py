"""The audit: tier mix by value and influence decile, tiers owed to influence alone, and policy diffs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from policy_strategies import FOLLOWER_SEED

from fairserve.influence import influence_percentiles, synthetic_followers
from fairserve.policy import builtin_names, load_policy
from fairserve.policy.audit import audit_policy, diff_policies, prepare_scores, tiers_of


def _small() -> pd.DataFrame:
    return prepare_scores(
        pd.DataFrame({
            "customer_id": ["a", "b", "c", "d", "e"],
            "clv": [500.0, 150.0, 50.0, 5.0, 1.0],
            "loyalty": [0.6, 0.1, 0.1, 0.1, 0.35],
            "value_percentile": [1.0, 0.8, 0.6, 0.4, 0.2],
        }),
        np.array([0, 10, 2_000_000, 50, 900]),
    )


def test_prepare_scores_turns_followers_into_percentiles() -> None:
    s = _small()
    assert s["influence"].tolist() == [0.0, 0.25, 1.0, 0.5, 0.75]


def test_prepare_scores_percentiles_equal_those_grouped_by_customer() -> None:
    """prepare_scores ranks rows directly (ids are unique); influence_percentiles groups by id: the same values."""
    rng = np.random.default_rng(3)
    n = 2_000
    ids = rng.permutation([f"{i:05d}" for i in range(n)])  # not in id order
    followers = np.where(rng.random(n) < 0.3, 0, rng.pareto(1.2, n) * 100).astype(np.int64)  # ties at 0
    base = pd.DataFrame({"customer_id": ids, "clv": rng.gamma(2.0, 50.0, n), "followers": followers})
    grouped = influence_percentiles(base[["customer_id", "followers"]])
    got = prepare_scores(base)
    assert got["influence"].tolist() == base["customer_id"].map(grouped).tolist()


def test_owed_to_influence_counts_customers_whose_tier_falls_without_reach() -> None:
    s = _small()
    report = audit_policy(s, load_policy("influence-first"))
    # c (top reach) is a star; e is at 0.75 < 0.9: nobody else is raised
    assert report.tier_counts == {"star": 1, "known": 0, "everyone": 4}
    assert report.owed_to_influence == 1 and report.owed_to_influence_by_tier["star"] == 1
    assert audit_policy(s, load_policy("balanced")).owed_to_influence == 0
    tiers = tiers_of(s, load_policy("value-first"))
    assert tiers["tier"].tolist() == ["platinum", "gold", "silver", "standard", "standard"]


def test_diff_matrix_counts_every_customer_once() -> None:
    s = _small()
    d = diff_policies(s, load_policy("value-first"), load_policy("balanced"))
    assert int(d.matrix.to_numpy().sum()) == 5
    assert d.matrix.loc["value-first:platinum", "balanced:priority"] == 1
    assert d.matrix.loc["value-first:standard", "balanced:loyal"] == 1  # e: loyalty 0.35
    assert d.changed == 4  # only d keeps its tier name (standard under both)
    assert diff_policies(s, load_policy("balanced"), load_policy("influence-first")).changed is None
    same = diff_policies(s, load_policy("balanced"), load_policy("balanced"))
    assert same.changed == 0 and int(np.trace(same.matrix.to_numpy())) == 5


@pytest.mark.parametrize("name", builtin_names())
def test_audit_on_cdnow_customers_with_synthetic_followers(cdnow_scores: pd.DataFrame, name: str) -> None:
    scores = prepare_scores(cdnow_scores, synthetic_followers(len(cdnow_scores), FOLLOWER_SEED))
    policy = load_policy(name)
    report = audit_policy(scores, policy)
    assert report.customers == 23_570
    assert sum(report.tier_counts.values()) == 23_570
    assert int(report.by_value_decile.to_numpy().sum()) == 23_570
    assert int(report.by_influence_decile.to_numpy().sum()) == 23_570
    assert list(report.by_value_decile.index) == list(range(1, 11))
    assert report.max_influence_min <= policy.influence_cap_min
    if not policy.influence_may_change_tier:
        assert report.owed_to_influence == 0
    if name == "influence-first":
        # tiers by reach alone: exactly the customers at or above the 90th reach percentile are raised
        assert report.owed_to_influence == int((scores["influence"] >= 0.90).sum())
        assert report.by_influence_decile.loc[1:9, ["star", "known"]].to_numpy().sum() == 0
    if name == "value-first":
        # tiers by value: the bottom seven value deciles are all standard, the top decile holds every platinum
        assert report.by_value_decile.loc[1:7, ["platinum", "gold", "silver"]].to_numpy().sum() == 0
        assert report.by_value_decile.loc[10, "platinum"] == report.tier_counts["platinum"] > 0
    if name == "tier-strict":
        assert report.tier_counts["basic"] == 23_570  # CDNOW has no status: everyone falls to the last tier
        assert any("status" in n for n in report.notes)


def test_the_audit_notes_when_ties_make_the_deciles_uneven() -> None:
    # 40 of 100 customers have no followers: tied at influence 0, all in decile 1, and deciles 2-4 stay empty
    followers = np.r_[np.zeros(40), np.arange(1, 61)]
    base = pd.DataFrame({"customer_id": [f"c{i}" for i in range(100)], "clv": np.arange(100.0) + 1})
    report = audit_policy(prepare_scores(base, followers), load_policy("balanced"))
    by_influence = report.by_influence_decile.sum(axis=1)
    assert by_influence[1] == 40 and by_influence[2:4].sum() == 0
    (note,) = [n for n in report.notes if "deciles are uneven" in n]
    assert note.startswith("influence deciles are uneven: 40 customers (40%) tie at one influence percentile "
                           "(the lowest)")
    assert "decile 1 holds 40, decile 2 none, decile 3 none and decile 4 none" in note
    assert "an even split is about 10 each" in note
    # the same for value: half the base with the same CLV (the percentile ranks ties at the top of their run)
    tied_value = base.assign(clv=np.r_[np.zeros(50), np.arange(1.0, 51.0)])
    report = audit_policy(prepare_scores(tied_value, np.arange(100)), load_policy("balanced"))
    by_value = report.by_value_decile.sum(axis=1)
    assert by_value[1:5].sum() == 0 and by_value[6] >= 50
    assert [n.split(":")[0] for n in report.notes if "deciles are uneven" in n] == ["value deciles are uneven"]
    # distinct values (and small ties) make even deciles: no note
    even = audit_policy(prepare_scores(base, np.arange(100) // 5), load_policy("balanced"))
    assert not any("deciles are uneven" in n for n in even.notes)
    assert set(even.by_influence_decile.sum(axis=1)) == {10}
