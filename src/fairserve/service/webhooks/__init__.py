"""Helpdesk and listener webhooks, one module per vendor: verify the signature as the vendor signs, then parse.

Each module has ``parse(headers, body, secret, now, tolerance) -> ContactIn | None``: a contact to take in (with
the vendor's ticket or conversation id as its ``external_id``, so a redelivery finds the same contact), or None
for an event that is not a new contact. Unknown fields are ignored. A missing secret, a missing, bad or stale
signature raises :class:`SignatureError` (answered 401); a payload that is not the vendor's shape raises
:class:`WebhookError` (422).

The vendors' priorities are read into the policy's severity only where they say more than "normal": ``high`` is
severity 2 and ``urgent`` 3; ``low``, ``normal`` and ``medium`` leave the severity to the text classifier. The
contact's arrival is when fairserve received it.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

from pydantic import ValidationError

from fairserve.service.intake import ContactIn

__all__ = ["NAMES", "VENDORS", "SignatureError", "WebhookError", "build", "check_mac", "header", "load_json",
           "need_secret", "obj", "severity_of", "unix_seconds", "verify_stamped"]


class SignatureError(Exception):
    """A delivery whose signature is missing, wrong or stale; ``header`` names the header."""

    def __init__(self, message: str, header: str) -> None:
        super().__init__(message)
        self.header = header


class WebhookError(Exception):
    """A delivery that is not in the vendor's shape; ``field`` names where."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def header(headers: dict[str, str], name: str) -> str | None:
    """A header's value, case-insensitively."""
    name = name.lower()
    for k, v in headers.items():
        if k.lower() == name:
            return v
    return None


def check_mac(expected: str, given: str | None, name: str) -> None:
    """Compare a signature in constant time; raise :class:`SignatureError` naming header ``name``."""
    if not given:
        raise SignatureError(f"missing signature header {name}", name)
    if not hmac.compare_digest(expected.encode(), given.strip().encode()):
        raise SignatureError(f"bad signature in {name}", name)


def verify_stamped(
    headers: dict[str, str],
    body: bytes,
    sign: Callable[[str, str, bytes], str],
    key: str,
    sig_header: str,
    ts_header: str,
    when: Callable[[str], float],
    now: float,
    tolerance: float,
) -> None:
    """Check a timestamped HMAC signature the way Zendesk, Chatwoot and the social webhook sign.

    ``sign(key, timestamp, body)`` is the vendor's signature; ``when(timestamp)`` reads its timestamp as Unix
    seconds (raising :class:`SignatureError` when it cannot). Missing, wrong or stale (more than ``tolerance``
    seconds from ``now``) raises :class:`SignatureError` naming the header.
    """
    ts = header(headers, ts_header)
    if not ts:
        raise SignatureError(f"missing {ts_header}", ts_header)
    check_mac(sign(key, ts, body), header(headers, sig_header), sig_header)
    if abs(now - when(ts)) > tolerance:
        raise SignatureError(f"stale signature: {ts_header} is more than {tolerance:.0f} s from now", ts_header)


def unix_seconds(name: str) -> Callable[[str], float]:
    """A reader of a timestamp header given in Unix seconds."""

    def read(ts: str) -> float:
        try:
            return float(ts)
        except ValueError:
            raise SignatureError(f"{name} is not Unix seconds", name) from None

    return read


def need_secret(secret: str | None, vendor: str) -> str:
    """The vendor's secret, or 401: an unsigned delivery is never taken."""
    if not secret:
        raise SignatureError(f"no {vendor} secret is configured (FAIRSERVE_{vendor.upper()}_SECRET)", "signature")
    return secret


def obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (a field of the wrong shape reads as absent)."""
    return value if isinstance(value, dict) else {}


def load_json(body: bytes) -> dict[str, Any]:
    """The JSON object of a delivery."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookError("malformed JSON body", "body") from None
    if not isinstance(data, dict):
        raise WebhookError("the body must be a JSON object", "body")
    return data


_SEVERITY = {"high": 2, "urgent": 3}


def severity_of(priority: Any) -> int | None:
    """Severity from a vendor priority name (``"HIGH"``, ``"urgent"``, ``"3 high"``): 2, 3, or None."""
    if not isinstance(priority, str):
        return None
    word = priority.strip().lower().split(" ")[-1]
    return _SEVERITY.get(word)


def build(vendor: str, **fields: Any) -> ContactIn:
    """A :class:`ContactIn` from parsed fields; a value out of range is the payload's fault (422)."""
    clean = {k: v for k, v in fields.items() if v is not None and v != ""}
    if "text" in clean:
        clean["text"] = str(clean["text"])[:20_000]
    try:
        return ContactIn(**clean)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or None
        raise WebhookError(f"{vendor} payload: {first.get('msg', 'invalid')}", where) from None


NAMES = ("chatwoot", "social", "zammad", "zendesk")  # the vendors, each a module here: /v1/webhooks/{vendor}


def _vendors() -> dict[str, ModuleType]:
    import importlib

    return {name: importlib.import_module(f"{__name__}.{name}") for name in NAMES}


class _Lazy(dict[str, ModuleType]):
    def __missing__(self, key: str) -> ModuleType:
        self.update(_vendors())
        return dict.__getitem__(self, key)


VENDORS: dict[str, ModuleType] = _Lazy()
