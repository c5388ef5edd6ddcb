"""Alembic migrations of the service's schema; :func:`fairserve.service.store.upgrade` runs them."""
