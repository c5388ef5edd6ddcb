"""Identity links: which customer, if any, wrote a social post, and on what evidence.

A handle is linked to a customer by, in this order of strength:

1. ``confirmed``: a link the customer or an agent confirmed (a ``links`` table of ``handle, customer_id``);
2. ``declared handle``: the customer declared this handle (a ``handle`` column of the customers);
3. ``email in profile``: an e-mail address in the post's profile text (or ``email`` column) equals a customer's;
4. ``phone in profile``: a phone number there equals a customer's (digits only, the last 10 compared, at least 7).

A weaker rule that points at two customers links neither (evidence ``ambiguous``): fairserve never guesses. An
unmatched post stays a **guest**: it is still triaged and scored for risk, it just has no tier or value. Matching
is exact after normalising (handles lower-cased without ``@``; e-mails lower-cased), in the spirit of
deterministic record linkage (Christen 2012, *Data Matching*, ch. 2); no fuzzy matching, so no false friend is
told someone else's tier.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["EVIDENCE", "link_posts", "normalise_handle", "normalise_phone"]

EVIDENCE = ("confirmed", "declared handle", "email in profile", "phone in profile", "guest")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+?\d[\d ().-]{6,}\d")


def normalise_handle(value: object) -> str:
    """``@Name`` -> ``name``; empty for missing values."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip().lstrip("@").lower()


def normalise_phone(value: object) -> str:
    """The last 10 digits of a phone number, or empty when it has fewer than 7 digits."""
    digits = re.sub(r"\D", "", "" if value is None else str(value))
    return digits[-10:] if len(digits) >= 7 else ""


def _unique_map(keys: pd.Series, ids: pd.Series) -> tuple[dict[str, str], set[str]]:
    """key -> customer id for keys that name exactly one customer, and the set of ambiguous keys."""
    frame = pd.DataFrame({"k": keys, "id": ids.astype(str)})
    frame = frame.loc[frame["k"] != ""].drop_duplicates()
    counts = frame.groupby("k")["id"].nunique()
    ambiguous = set(counts.index[counts > 1])
    unique = frame.loc[~frame["k"].isin(ambiguous)]
    return dict(zip(unique["k"], unique["id"], strict=True)), ambiguous


def link_posts(posts: pd.DataFrame, customers: pd.DataFrame | None = None, links: pd.DataFrame | None = None
               ) -> pd.DataFrame:
    """For each post: ``customer_id`` (None for a guest), ``link`` (one of :data:`EVIDENCE`) and ``evidence``.

    ``posts`` needs ``handle`` and may have ``profile`` (free text), ``email`` and ``phone``. ``customers`` needs
    ``customer_id`` and may have ``handle``, ``email`` and ``phone``. ``links`` has ``handle, customer_id``.
    """
    n = len(posts)
    handles = posts["handle"].map(normalise_handle) if "handle" in posts.columns else pd.Series([""] * n,
                                                                                                index=posts.index)
    profile = posts["profile"].fillna("").astype(str) if "profile" in posts.columns else pd.Series(
        [""] * n, index=posts.index)
    emails = profile.map(lambda s: [e.lower() for e in _EMAIL.findall(s)])
    if "email" in posts.columns:
        emails = emails + posts["email"].fillna("").astype(str).str.lower().map(lambda e: [e] if e else [])
    phones = profile.map(lambda s: [p for p in (normalise_phone(m) for m in _PHONE.findall(s)) if p])
    if "phone" in posts.columns:
        phones = phones + posts["phone"].map(normalise_phone).map(lambda p: [p] if p else [])

    rules: list[tuple[str, dict[str, str], set[str], pd.Series, str]] = []
    if links is not None and len(links):
        m, amb = _unique_map(links["handle"].map(normalise_handle), links["customer_id"])
        rules.append(("confirmed", m, amb, handles.map(lambda h: [h] if h else []), "confirmed link of @{k}"))
    if customers is not None and "customer_id" in customers.columns:
        ids = customers["customer_id"]
        if "handle" in customers.columns:
            m, amb = _unique_map(customers["handle"].map(normalise_handle), ids)
            rules.append(("declared handle", m, amb, handles.map(lambda h: [h] if h else []),
                          "customer declared handle @{k}"))
        if "email" in customers.columns:
            m, amb = _unique_map(customers["email"].fillna("").astype(str).str.strip().str.lower(), ids)
            rules.append(("email in profile", m, amb, emails, "e-mail {k} in the profile"))
        if "phone" in customers.columns:
            m, amb = _unique_map(customers["phone"].map(normalise_phone), ids)
            rules.append(("phone in profile", m, amb, phones, "phone ...{k4} in the profile"))

    customer: list[str | None] = [None] * n
    link = ["guest"] * n
    evidence = [""] * n
    for name, mapping, ambiguous, keys, template in rules:
        key_lists: list[list[str]] = keys.tolist()
        for i, cands in enumerate(key_lists):
            if customer[i] is not None:
                continue
            found = {mapping[k] for k in cands if k in mapping}
            if len(found) == 1 and not any(k in ambiguous for k in cands):
                key = next(k for k in cands if k in mapping)
                customer[i], link[i] = found.pop(), name
                evidence[i] = template.format(k=key, k4=key[-4:])
            elif (len(found) > 1 or any(k in ambiguous for k in cands)) and not evidence[i]:
                evidence[i] = f"ambiguous: {name} matches more than one customer"
    out = pd.DataFrame({"customer_id": customer, "link": link, "evidence": evidence}, index=posts.index)
    return out
