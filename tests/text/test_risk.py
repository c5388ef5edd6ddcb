import numpy as np
import pandas as pd
import pytest

from fairserve.model import Channel, Contact, Customer
from fairserve.policy import decide, load_policy
from fairserve.text.risk import audience, risk_score, score_posts


def test_risk_flags_exactly_the_posts_the_policy_flags() -> None:
    policy = load_policy("balanced")  # [risk] threshold 3, social channel, social-care route
    threshold = policy.spec.risk.threshold  # type: ignore[union-attr]
    rng = np.random.default_rng(1)
    followers = np.round(10 ** rng.uniform(0, 7, 200))
    sentiment = rng.uniform(-1, 1, 200)
    posts = pd.DataFrame({"followers": followers})
    ours = score_posts(posts, sentiment, threshold)
    for i in range(200):
        contact = Contact(f"p{i}", Channel.SOCIAL, 0.0, sentiment=float(sentiment[i]),
                          reach=float(ours["audience"].iloc[i]))
        d = decide(contact, Customer("c", clv=1.0), policy, 0.0)
        assert ("reputational-risk" in d.flags) == bool(ours["risk_flag"].iloc[i]), i


def test_reach_counts_by_orders_of_magnitude_and_only_negativity_scores() -> None:
    assert risk_score([999_999], [-1.0])[0] == pytest.approx(6.0)
    assert risk_score([99], [-0.5])[0] == pytest.approx(1.0)
    assert risk_score([1_000_000], [0.8])[0] == 0.0


def test_audience_counts_verified_twice_and_engagement() -> None:
    np.testing.assert_allclose(audience([100, 100, 0], [0, 0, 3], [False, True, False]), [100, 200, 300])


def test_private_posts_are_never_flagged() -> None:
    posts = pd.DataFrame({"followers": [10**7, 10**7], "public": ["true", "false"]})
    out = score_posts(posts, np.array([-1.0, -1.0]))
    assert list(out["risk_flag"]) == [True, False]
