"""Replay a real contact log in the simulator, in place of drawn Poisson arrivals (``simulate --contacts``).

The log gives each contact's arrival time, channel and customer, and its handle time where known
(``handle_seconds``); the scenario gives the rest: the agents, and for each channel the first segment of that
channel, whose laws supply the handle time where the log has none and every contact's patience (a log does not
record how long a customer would have waited). A replication redraws only those; the arrivals, customers and the
contacts' own signals (severity, sentiment, complaint, repeat, reach, public) are the log's in every replication.

Time starts at the log's first arrival; the scenario's warm-up still applies (contacts arriving in it are not
measured). A real log already holds its call-backs, so the scenario's retrials are not added. Every contact is
its own profile: the policy decides each one (the log's contacts differ in more than their arrival).

Pure: it takes the validated log (:func:`fairserve.io.read_contacts`) and the customer base as DataFrames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fairserve.sim.scenario import _CUSTOMER_COLUMNS, Scenario, ScenarioError, draw_contacts

__all__ = ["replay_contacts", "replay_summary"]


def _segments_by_channel(scenario: Scenario, channels: pd.Series) -> np.ndarray:
    first: dict[str, int] = {}
    for k, seg in enumerate(scenario.segments):
        first.setdefault(str(seg.channel), k)
    missing = sorted(set(channels.unique()) - set(first))
    if missing:
        raise ScenarioError(f"the scenario has no segment for the channel(s) {', '.join(missing)} of the contact "
                            f"log (its segments' channels: {', '.join(first)})")
    return channels.map(first).to_numpy(dtype=np.int64)


def replay_summary(log: pd.DataFrame, scenario: Scenario) -> dict[str, Any]:
    """What a replay of ``log`` will cover: contacts, span in time units, and how many have a handle time."""
    arrival = pd.to_datetime(log["arrival"])
    span = (arrival.max() - arrival.min()).total_seconds() / scenario.unit_seconds if len(log) else 0.0
    known = int(log["handle_seconds"].notna().sum()) if "handle_seconds" in log else 0
    return {"contacts": len(log), "span": float(span), "with_handle_time": known,
            "first_arrival": str(arrival.min()), "last_arrival": str(arrival.max())}


def replay_contacts(
    scenario: Scenario, log: pd.DataFrame, rng: np.random.Generator, customers: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One replication's contacts from the log: the frame :func:`~fairserve.sim.scenario.draw_contacts` gives.

    Parameters
    ----------
    log:
        Validated contacts (``contact_id``, ``channel``, ``arrival``, ``customer_id``, ...; optional
        ``handle_seconds``), in any order.
    customers:
        The scored base; a contact whose customer is in it carries that customer's scores, status and account,
        and their followers as reach where the log gives none. Others are unknown senders (NaN scores).

    Raises
    ------
    ScenarioError
        When a channel of the log has no segment in the scenario, or the log is empty.
    """
    if log.empty:
        raise ScenarioError("the contact log has no contacts to replay")
    order = np.argsort(pd.to_datetime(log["arrival"]).to_numpy(), kind="stable")
    log = log.iloc[order].reset_index(drop=True)
    arrival = pd.to_datetime(log["arrival"])
    t = (arrival - arrival.iloc[0]).dt.total_seconds().to_numpy(dtype=float) / scenario.unit_seconds
    seg = _segments_by_channel(scenario, log["channel"].astype(str))
    once = scenario.model_copy(update={"segments": [s.model_copy(update={"retrial_prob": 0.0})
                                                    for s in scenario.segments]})
    frame = draw_contacts(once, rng, customers, arrivals=(t, seg))
    n = len(frame)
    if "handle_seconds" in log:
        known = log["handle_seconds"].notna().to_numpy()
        frame.loc[known, "handle"] = log.loc[known, "handle_seconds"].to_numpy(dtype=float) / scenario.unit_seconds
    for col, default, kind in (("severity", 0, np.int64), ("complaint", False, np.bool_), ("repeat", 0, np.int64)):
        if col in log:
            frame[col] = np.asarray(log[col].fillna(default).to_numpy(), dtype=kind)
    for col in ("sentiment", "reach"):
        if col in log:
            given = log[col].astype(float).to_numpy()
            frame[col] = np.where(np.isnan(given), frame[col].to_numpy(dtype=float), given)
    if "public" in log:
        given_public = log["public"].astype("boolean")
        frame["public"] = given_public.fillna(pd.Series(frame["public"].to_numpy(), dtype="boolean")).to_numpy(bool)
    ids = log["customer_id"].astype("string") if "customer_id" in log else pd.Series(pd.NA, index=log.index,
                                                                                      dtype="string")
    frame["customer_id"] = pd.Categorical(ids.astype(object).where(ids.notna(), None))
    if customers is not None:
        base = customers.drop_duplicates("customer_id")
        row = pd.Index(base["customer_id"].astype(str)).get_indexer(pd.Index(ids.fillna("").astype(str)))  # -1: none
        hit = row >= 0
        for col in _CUSTOMER_COLUMNS:
            if col in base:
                values = np.full(n, np.nan)
                values[hit] = base[col].to_numpy(dtype=float)[row[hit]]
                frame[col] = values
        for col in ("status", "account"):
            if col in base:
                names = np.full(n, None, dtype=object)
                names[hit] = base[col].astype(object).to_numpy()[row[hit]]
                frame[col] = pd.Categorical(names)
        if "followers" in base:
            reach = frame["reach"].to_numpy(dtype=float).copy()
            unknown = np.isnan(log["reach"].astype(float).to_numpy()) if "reach" in log else np.ones(n, bool)
            fill = unknown & hit
            reach[fill] = base["followers"].to_numpy(dtype=float)[row[fill]]
            frame["reach"] = reach
    frame["profile"] = np.arange(1, n + 1, dtype=np.int64)
    return frame
