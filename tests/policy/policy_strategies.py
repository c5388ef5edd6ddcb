"""Hypothesis strategies for contacts and customers, shared by the policy tests."""

from __future__ import annotations

from hypothesis import strategies as st

from fairserve.model import Channel, Contact, Customer

FOLLOWER_SEED = 20261122
"""The seed of the synthetic follower counts the CDNOW audits use (docs/policies.md)."""

STATUSES = ["gold", "silver", "bronze", "basic", "platinum", None]

maybe_float = st.one_of(st.none(), st.floats(min_value=-50, max_value=5000, allow_nan=False))
unit = st.one_of(st.none(), st.floats(min_value=0, max_value=1, allow_nan=False))


@st.composite
def customers(draw: st.DrawFn, cid: str = "c") -> Customer | None:
    if draw(st.integers(0, 9)) == 0:
        return None
    return Customer(
        customer_id=cid,
        clv=draw(maybe_float),
        profit=draw(maybe_float),
        loyalty=draw(unit),
        status=draw(st.sampled_from(STATUSES)),
        influence=draw(unit),
        followers=draw(st.one_of(st.none(), st.integers(0, 10_000_000))),
        value_percentile=draw(unit),
    )


@st.composite
def contacts(draw: st.DrawFn, cid: str = "k", arrival: float | None = None) -> Contact:
    return Contact(
        contact_id=cid,
        channel=draw(st.sampled_from(list(Channel))),
        arrival=arrival if arrival is not None else draw(st.floats(0, 100_000, allow_nan=False)),
        severity=draw(st.integers(0, 3)),
        sentiment=draw(st.one_of(st.none(), st.floats(-1, 1, allow_nan=False))),
        complaint=draw(st.booleans()),
        repeat=draw(st.integers(0, 6)),
        reach=draw(st.one_of(st.none(), st.floats(0, 1e7, allow_nan=False))),
    )
