"""Alembic's entry point: runs the migrations on the connection :func:`fairserve.service.store.upgrade` gives."""

from __future__ import annotations

from alembic import context

from fairserve.service.store import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the service always passes its connection
    raise RuntimeError("run the migrations with fairserve.service.store.upgrade (or fairserve db upgrade)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
