"""``decide_batch``: the vectorised twin of :func:`fairserve.policy.engine.decide`.

Split from ``engine.py`` (one module per noun, each under 500 lines). It reads the same compiled policy
(:class:`fairserve.policy.engine._Compiled`) and does the same additions in the same order on NumPy arrays, so it
equals :func:`~fairserve.policy.engine.decide` row for row (``tests/policy/test_decide.py``). The simulator and
batch scoring call it; the live service calls ``decide``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fairserve.errors import FairserveError
from fairserve.policy.engine import _CHANNEL_INDEX, _INFLUENCE_SIGNALS, CHANNELS, Policy, _Compiled
from fairserve.policy.schema import NUMERIC_SIGNALS

__all__ = ["decide_batch"]


def _num(frame: pd.DataFrame, col: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    if col not in frame.columns:
        return np.full(len(frame), np.nan)
    s = frame[col]
    if s.dtype == bool:
        return s.to_numpy(dtype=np.float64)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _tier_masks(c: _Compiled, frame: pd.DataFrame, cols: dict[str, np.ndarray[Any, Any]], no_infl: bool) -> Any:
    n = len(frame)
    idx = np.full(n, len(c.tiers) - 1, dtype=np.int64)
    for i in range(len(c.tiers) - 1, -1, -1):
        tier = c.tiers[i]
        if tier.empty:
            idx[:] = i
            continue
        mask = np.ones(n, dtype=bool)
        for sig, lo in tier.conds:
            v = cols[sig]
            if sig in _INFLUENCE_SIGNALS:
                v = np.zeros(n) if no_infl else np.nan_to_num(v, nan=0.0)
            mask &= v >= lo
        for sig, allowed in tier.sets:
            if sig in frame.columns:
                mask &= frame[sig].isin(list(allowed)).to_numpy(dtype=bool)
            else:
                mask[:] = False
        idx[mask] = i
    return idx


def decide_batch(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Vectorised :func:`decide` for one row per contact with the customer's columns merged in.

    Input columns (a missing column or NaN is unknown): ``contact_id``, ``channel`` (a channel name),
    ``arrival`` (float seconds), ``severity``, ``sentiment``, ``complaint``, ``repeat``, ``reach``,
    ``customer_id``, ``clv``, ``profit``, ``loyalty``, ``status``, ``account``, ``influence``, ``followers``,
    ``value_percentile``. Output, on the same index: ``tier``, ``rank``, ``queue``, ``head_start_min``,
    ``influence_min``, ``virtual_arrival``, ``sla_seconds``, ``sla_deadline``; equal to :func:`decide` row for
    row. Reasons are not built here: call :func:`decide` for the rows you need to explain.

    Raises
    ------
    FairserveError
        When a channel is not one of phone, email, chat, social, or ``arrival`` is missing.
    """
    c = policy._c
    n = len(frame)
    if "arrival" not in frame.columns:
        raise FairserveError("decide_batch: the frame has no 'arrival' column")
    if "channel" not in frame.columns:
        raise FairserveError("decide_batch: the frame has no 'channel' column")
    ch = pd.Index(CHANNELS).get_indexer(pd.Index(frame["channel"].astype(str).str.lower())).astype(np.int64)
    if n and ch.min() < 0:
        bad = frame["channel"].astype(str)[ch < 0].iloc[0]
        raise FairserveError(f"decide_batch: unknown channel {bad!r} (expected one of {', '.join(CHANNELS)})")
    cols = {sig: _num(frame, sig) for sig in NUMERIC_SIGNALS}
    idx = _tier_masks(c, frame, cols, False)
    tier_hs = np.array([t.head_start for t in c.tiers])
    head = tier_hs[idx]
    infl_tier = np.zeros(n)
    if c.infl_tier:
        idx0 = _tier_masks(c, frame, cols, True)
        raised = idx0 > idx
        infl_tier = np.where(raised, np.maximum(0.0, head - tier_hs[idx0]), 0.0)
    sev = np.nan_to_num(_num(frame, "severity"), nan=0.0)
    sev = np.clip(sev, 0, 3).astype(np.int64)
    head = head + np.array(c.severity)[sev]
    sent = _num(frame, "sentiment")
    with np.errstate(invalid="ignore"):
        head = head + np.where(sent < c.neg_below, c.neg, 0.0)
    comp = np.nan_to_num(_num(frame, "complaint"), nan=0.0) != 0.0
    head = head + np.where(comp, c.complaint, 0.0)
    rep = np.nan_to_num(_num(frame, "repeat"), nan=0.0)
    rep = np.where(rep > 0, np.floor(rep), 0.0)
    head = head + np.minimum(c.repeat_max, c.repeat_each * rep)
    x = np.clip(np.nan_to_num(cols["influence"], nan=0.0), 0.0, 1.0)
    infl = np.minimum(c.infl_cap, c.infl_slope * x)
    head = head + infl
    sla_table = np.array([t.sla for t in c.tiers])
    sla = sla_table[idx, ch]
    social_care = np.zeros(n, dtype=bool)
    if c.risk:
        on = np.isin(ch, [_CHANNEL_INDEX[name] for name in c.risk_channels])
        reach = _num(frame, "reach")
        audience = np.where(np.isnan(reach), np.nan_to_num(cols["followers"], nan=0.0), reach)
        neg = np.where(np.nan_to_num(sent, nan=0.0) < 0.0, -np.nan_to_num(sent, nan=0.0), 0.0)
        score = np.log10(1.0 + np.maximum(0.0, audience)) * neg
        flagged = on & (score >= c.risk_threshold)
        head = head + np.where(flagged, c.risk_head_start, 0.0)
        if c.risk_route:
            assert c.risk_sla is not None
            social_care = flagged
            sla = np.where(flagged, np.array(c.risk_sla)[ch], sla)
    arrival = _num(frame, "arrival")
    out = pd.DataFrame(
        {
            "tier": np.array([t.name for t in c.tiers], dtype=object)[idx],
            "rank": idx if c.strict else np.zeros(n, dtype=np.int64),
            "queue": np.where(social_care, "social-care", "service").astype(object),
            "head_start_min": head,
            "influence_min": infl_tier + infl,
            "virtual_arrival": arrival - head * 60.0,
            "sla_seconds": sla,
            "sla_deadline": arrival + sla,
        },
        index=frame.index,
    )
    return out
