"""The service's one settings object, read from the environment (``FAIRSERVE_*``) or a settings file.

Every knob of the live service is here and nowhere else (pydantic-settings, as in the FastAPI project template's
``core/config.py``). The command ``fairserve serve`` writes its flags into the environment of its workers, so
several worker processes read the same settings. A settings file (``KEY=value`` lines, the same names as the
environment: ``FAIRSERVE_ZENDESK_SECRET=...``) is named by ``FAIRSERVE_SETTINGS_FILE`` or ``serve --settings``;
the environment wins over the file.
"""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "default_db_url", "load_settings"]


def default_db_url() -> str:
    """A SQLite file in the working directory: nothing to install for a first run."""
    return "sqlite:///fairserve.db"


class Settings(BaseSettings):
    """Settings of the live service.

    Attributes
    ----------
    db_url : str
        SQLAlchemy URL: ``sqlite:///path.db`` (the default, WAL mode) or ``postgresql://user@host/db``.
    policy : str
        The policy activated at start when the database has no active policy yet (a built-in name or a file).
    customers : str or None
        A scores file (CSV, Parquet or JSON lines) upserted at start.
    migrate : bool
        Run the Alembic migrations when the app starts (``fairserve serve`` runs them once before its workers).
    zendesk_secret, chatwoot_secret, zammad_secret, social_secret : str or None
        Each vendor's webhook signing secret; a vendor without one refuses every delivery (401).
    signature_tolerance_seconds : float
        How old a signed timestamp may be before the delivery is refused as stale.
    token_secret : str or None
        The key that signs customers' transparency links; None: one is made and kept in the database.
    max_body_bytes : int
        The largest request body accepted (413 beyond it).
    sla_near_fraction : float
        A waiting contact is "near breach" once it has waited this fraction of its SLA.
    sla_check_seconds : float
        How often the SLA clock looks at the waiting contacts (0: no background clock).
    events_url : str or None
        Where SLA events are delivered as signed webhooks; None keeps them in the outbox and the audit log only.
    events_secret : str or None
        The HMAC-SHA256 key of outgoing events.
    chat_capacity : int
        How many chats an agent may hold at once by default.
    public_url : str
        The base of transparency links.
    classify_text : bool
        Read missing need signals (severity, sentiment, complaint) from a contact's text.
    text_model : str or None
        A model directory trained by ``fairserve text train`` (``FAIRSERVE_TEXT_MODEL``, as for the CLI); None:
        the VADER lexicon and the rules.
    """

    model_config = SettingsConfigDict(env_prefix="FAIRSERVE_", env_file=None, extra="ignore")

    db_url: str = Field(default_factory=default_db_url)
    policy: str = "balanced"
    customers: str | None = None
    migrate: bool = True
    zendesk_secret: str | None = None
    chatwoot_secret: str | None = None
    zammad_secret: str | None = None
    social_secret: str | None = None
    signature_tolerance_seconds: float = 300.0
    token_secret: str | None = None
    token_ttl_seconds: float = 7 * 24 * 3600.0
    max_body_bytes: int = 1_000_000
    sla_near_fraction: float = 0.8
    sla_check_seconds: float = 5.0
    events_url: str | None = None
    events_secret: str | None = None
    chat_capacity: int = 3
    public_url: str = "http://127.0.0.1:8000"
    classify_text: bool = True
    text_model: str | None = None


def load_settings() -> Settings:
    """The settings from the environment, and from the file ``FAIRSERVE_SETTINGS_FILE`` names, if any."""
    path = os.environ.get("FAIRSERVE_SETTINGS_FILE")
    if path and not os.path.isfile(path):
        raise FileNotFoundError(f"FAIRSERVE_SETTINGS_FILE={path}: no such file")
    return Settings(_env_file=path or None)  # type: ignore[call-arg]
