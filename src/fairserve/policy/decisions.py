"""A file of contacts decided: one row per contact with its decision and its reasons in plain words.

What ``fairserve policy decide`` writes, on pandas or, batch by batch, on Spark's executors
(:mod:`fairserve.policy.spark`): the contacts' missing need signals read from their text by the listening triage
(the model in ``$FAIRSERVE_TEXT_MODEL``, else the VADER lexicon and the rules), the customers' scores joined in,
then :func:`fairserve.policy.decide_batch` -- the one evaluator -- with ``reasons=True``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["decisions_table"]

_CUSTOMER_COLUMNS = ("clv", "profit", "loyalty", "value_percentile", "influence", "followers", "status", "account")


def decisions_table(contacts: Any, base: Any, policy: Any, given: list[str], use_text: bool) -> Any:
    """One row per contact: the contact's id and customer, its decision, and the reasons in plain words.

    ``given`` lists the columns the contacts file declared: need signals it gave win over the text's.
    """
    import numpy as np
    import pandas as pd

    from fairserve.model import to_seconds
    from fairserve.policy import decide_batch
    from fairserve.policy.explain import SHOWN_DECIMALS

    frame = contacts.copy()
    frame["arrival"] = [to_seconds(t.to_pydatetime()) for t in pd.to_datetime(frame["arrival"])]
    read: dict[str, str] = {}
    if use_text and "text" in frame.columns and frame["text"].astype(str).str.strip().ne("").any():
        from fairserve.text.modeldir import load_triage

        triage = load_triage()  # the model in $FAIRSERVE_TEXT_MODEL, else VADER and the rules
        has_text = frame["text"].astype(str).str.strip().ne("")
        out = triage.classify(frame.loc[has_text, "text"].tolist())
        out.index = frame.index[has_text]
        if "sentiment" not in given:
            frame["sentiment"] = frame["sentiment"].astype(float) if "sentiment" in frame else np.nan
            frame.loc[has_text, "sentiment"] = out["sentiment_score"].to_numpy()
            read["sentiment"] = triage.method["sentiment"]
        if "severity" not in given:
            frame.loc[has_text, "severity"] = out["urgency"].to_numpy()
            read["severity"] = triage.method["urgency"]
        if "complaint" not in given:
            frame.loc[has_text, "complaint"] = out["complaint"].to_numpy()
            read["complaint"] = triage.method["complaint"]
    if base is not None:
        cust = base.drop_duplicates("customer_id").assign(customer_id=lambda b: b["customer_id"].astype(str))
        keep = ["customer_id", *[c for c in _CUSTOMER_COLUMNS if c in cust.columns]]
        frame = frame.drop(columns=[c for c in _CUSTOMER_COLUMNS if c in frame.columns]).merge(
            cust[keep], on="customer_id", how="left"
        )
    for col in _CUSTOMER_COLUMNS:
        if col not in frame.columns:
            frame[col] = None if col in ("status", "account") else np.nan
    for col in ("sentiment", "reach", "public"):
        if col not in frame.columns:
            frame[col] = np.nan
    dec = decide_batch(frame, policy, reasons=True)

    def shown(column: str) -> Any:  # minutes as presented, without float noise (explain.SHOWN_DECIMALS)
        return dec[column].to_numpy().round(SHOWN_DECIMALS)

    table = pd.DataFrame(
        {
            "contact_id": frame["contact_id"].to_numpy(),
            "customer_id": frame["customer_id"].to_numpy() if "customer_id" in frame else None,
            "channel": frame["channel"].to_numpy(),
            "tier": dec["tier"].to_numpy(),
            "queue": dec["queue"].to_numpy(),
            "rank": dec["rank"].to_numpy(),
            "head_start_min": shown("head_start_min"),
            "influence_min": shown("influence_min"),
            "virtual_arrival": dec["virtual_arrival"].to_numpy(),
            "sla_seconds": dec["sla_seconds"].to_numpy(),
            "sla_deadline": dec["sla_deadline"].to_numpy(),
            "guarantee_seconds": dec["guarantee_seconds"].to_numpy(),
            "pass_window_min": shown("pass_window_min"),
            "flags": [" ".join(f) for f in dec["flags"]],
            "entitlements": [" ".join(g.name for g in gs) for gs in dec["entitlements"]],
            "reasons": [" | ".join(r.text for r in rs) for rs in dec["reasons"]],
        }
    )
    table.attrs["text_signals"] = read
    return table
