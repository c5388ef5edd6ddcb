"""The live service: intake from every channel, queues in the policy's order with its guarantees, agents, SLA
clocks, policy lifecycle and transparency links (FastAPI, SQLAlchemy 2, Alembic; the ``service`` extra).

Build an app with :func:`fairserve.service.app.create_app`; run it with ``fairserve serve``. See docs/service.md.
"""

from __future__ import annotations

__all__: list[str] = []
