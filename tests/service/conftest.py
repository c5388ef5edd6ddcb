"""The service tests' fixtures, defined in :mod:`service_fixtures` (a name of its own, so that test modules can
import its helpers without meeting another folder's ``conftest``)."""

from __future__ import annotations

from service_fixtures import api, db_url, pg_server, sqlite_api, sqlite_url

__all__ = ["api", "db_url", "pg_server", "sqlite_api", "sqlite_url"]
