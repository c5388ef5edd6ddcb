"""``fairserve serve``, ``fairserve keys create`` and ``fairserve db upgrade``: the live service's commands.

``serve`` migrates the database and makes the start-up policy active once, loads the customers file when given,
then starts the API workers (uvicorn) with its settings in their environment (``FAIRSERVE_*``), so every worker
reads the same :class:`~fairserve.service.settings.Settings`. Logs are JSON lines of ids (no names, e-mails,
phones or message text); SIGTERM or Ctrl-C stops the workers gracefully (requests in flight finish, and a contact
is answered only after its transaction committed, so none that was accepted is lost).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from fairserve.errors import FairserveError

__all__ = ["register"]

SERVE_HELP = "Run the live service: intake, queues, agents, webhooks, transparency links (HTTP API)."
KEYS_HELP = "API keys of the live service: create one for a role (admin, agent, intake), list, revoke."
DB_HELP = "The live service's database: run the schema migrations."

keys_app = typer.Typer(help=KEYS_HELP, no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help=DB_HELP, no_args_is_help=True, add_completion=False)

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: FAIRSERVE_DB_URL, else "
                                              "sqlite:///fairserve.db in the working directory).")]


def _engine(db: str | None) -> Any:
    try:
        from fairserve.service.settings import Settings
        from fairserve.service.store import open_engine
    except ImportError as exc:  # pragma: no cover - only without the extra
        raise FairserveError(f"the service needs its extra: pip install 'fairserve[service]' ({exc})") from None
    return open_engine(db or Settings().db_url)  # a URL it cannot use is a FairserveError naming it (exit 2)


def check_port_free(host: str, port: int) -> None:
    """Raise :class:`FairserveError` when ``host:port`` cannot be listened on (in use, not this machine's, ...).

    Binds a socket with the options uvicorn uses (``SO_REUSEADDR``, so a port in TIME_WAIT is not refused) and
    closes it at once. A race remains: another program may take the port between this check and uvicorn's bind;
    uvicorn then reports it in its own log line.
    """
    import errno

    where = f"port {port} on {host or '0.0.0.0'}"
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise FairserveError(f"cannot listen on {host}: no such address ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise FairserveError(f"{where} is already in use (stop what listens there, or choose another "
                                     "--port)") from None
            if exc.errno == errno.EACCES:
                raise FairserveError(f"cannot listen on {where}: permission denied (ports below 1024 need "
                                     "privileges)") from None
            raise FairserveError(f"cannot listen on {where}: {(exc.strerror or str(exc)).lower()}") from None


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith((".csv", ".txt")):
        return "csv"
    raise FairserveError(f"{path}: a customers file must be .csv, .parquet or .jsonl")


def load_customers(engine: Any, path: Path, now: float) -> dict[str, Any]:
    """Upsert a scores file into the service's database; each bad row is reported on stderr by number and field."""
    from fairserve.service.customers import read_upload, upsert_frame
    from fairserve.service.store import write, write_audit

    if not path.is_file():
        raise FairserveError(f"{path}: no such customers file")
    frame, problems = read_upload(path.read_bytes(), _kind(path), str(path))
    if any(p.row is None for p in problems):  # unreadable, or a required column missing: unusable as a whole
        raise FairserveError("; ".join(str(p) for p in problems if p.row is None))
    with write(engine) as conn:
        result = upsert_frame(conn, frame, now, str(path), problems)
        write_audit(conn, now, "cli", "customers_upserted", detail={"rows": result.rows, "upserted": result.upserted})
    for p in result.problems[:50]:
        print(f"warning: {p}", file=sys.stderr)
    return result.to_dict()


def _activate_start_policy(engine: Any, name_or_path: str, now: float) -> None:
    from fairserve.service.policies import activate, policy_text, store_policy
    from fairserve.service.store import policies, write

    text, source = policy_text(name_or_path)
    with write(engine) as conn:
        policy = store_policy(conn, text, source, now)
        active = conn.execute(policies.select().where(policies.c.role == "active")).first()
        if active is None or active.hash != policy.content_hash:
            activate(conn, policy.content_hash, "active", now, "cli")


_BIND_ALL = ("0.0.0.0", "::", "[::]", "")


def public_base(host: str, port: int) -> tuple[str, str | None]:
    """The base of customers' links for a server on ``host:port`` when FAIRSERVE_PUBLIC_URL is not set.

    Returns the URL and a one-line notice for stderr (or None). A loopback host gives ``http://127.0.0.1:PORT``;
    a bind-all address (``0.0.0.0``, ``::``) gives this machine's host name, which people elsewhere may not reach
    by that name, hence the notice; any other address is used as it is.
    """
    if host in ("127.0.0.1", "localhost", "::1"):
        return f"http://127.0.0.1:{port}", None
    if host in _BIND_ALL:
        url = f"http://{socket.getfqdn() or socket.gethostname()}:{port}"
        return url, (f"note: customers' links use {url}; set FAIRSERVE_PUBLIC_URL to the address customers "
                     "reach (e.g. https://help.example.com)")
    return (f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"), None


def _log_config() -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"format": '{"t": "%(asctime)s", "level": "%(levelname)s", "logger": "%(name)s", '
                                          '"msg": %(message)s}'},
                       "plain": {"format": '{"t": "%(asctime)s", "level": "%(levelname)s", "logger": "%(name)s", '
                                           '"msg": "%(message)s"}'}},
        "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
                     "plain": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
        "loggers": {"fairserve.service": {"handlers": ["json"], "level": "INFO", "propagate": False},
                    "uvicorn": {"handlers": ["plain"], "level": "INFO", "propagate": False},
                    "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False}},
    }


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="API worker processes (PostgreSQL for more than "
                                         "one on a busy service; SQLite serialises writes).")] = 1,
    customers: Annotated[Path | None, typer.Option(help="Scored customers to upsert at start (CSV, Parquet or "
                                                   "JSON lines).")] = None,
    policy: Annotated[str | None, typer.Option(help="The policy to activate at start (built-in name or file); "
                                               "default: keep the active one, else 'balanced'.")] = None,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
    settings_file: Annotated[Path | None, typer.Option("--settings", help="A settings file of FAIRSERVE_*=value "
                                                       "lines (secrets and the rest); the environment wins.")] = None,
) -> None:
    """Run the live service: intake, queues, agents, webhooks, transparency links (HTTP API).

    Migrates the database and activates the start-up policy once, loads --customers, then starts the workers.
    """
    import uvicorn

    from fairserve.service.app import ensure_policy
    from fairserve.service.policies import active_label
    from fairserve.service.settings import load_settings

    if settings_file is not None:
        if not settings_file.is_file():
            raise FairserveError(f"{settings_file}: no such settings file")
        os.environ["FAIRSERVE_SETTINGS_FILE"] = str(settings_file.resolve())
    settings = load_settings()
    if db:
        settings = settings.model_copy(update={"db_url": db})
    if settings.classify_text and settings.text_model:  # checked here, once, before any worker starts
        from fairserve.text.modeldir import load_triage

        try:
            load_triage([Path(settings.text_model)], threads=1, task="sentiment")
        except FairserveError as exc:
            raise FairserveError(f"FAIRSERVE_TEXT_MODEL={settings.text_model}: {exc}") from None
        print(f"text: need signals read by the model in {settings.text_model}", file=sys.stderr)
    engine = _engine(settings.db_url)
    now = time.time()
    if policy is not None:
        _activate_start_policy(engine, policy, now)
    else:
        ensure_policy(engine, settings.policy, now)
    with engine.connect() as conn:  # the policy the workers will find active, whichever way it became so
        chosen = active_label(conn)
        conn.rollback()
    if customers is not None:
        summary = load_customers(engine, customers, now)
        from fairserve.service.words import count

        print(f"customers: {summary['upserted']} upserted, {count(summary['rejected'], 'row')} rejected",
              file=sys.stderr)
    if workers > 1 and engine.dialect.name == "sqlite":
        print("warning: several workers on one SQLite file queue for its one writer; use PostgreSQL to scale out",
              file=sys.stderr)
    engine.dispose()
    os.environ["FAIRSERVE_DB_URL"] = settings.db_url
    os.environ["FAIRSERVE_MIGRATE"] = "false"
    os.environ.pop("FAIRSERVE_CUSTOMERS", None)
    if "public_url" not in settings.model_fields_set:  # neither the environment nor the settings file names it
        os.environ["FAIRSERVE_PUBLIC_URL"], notice = public_base(host, port)
        if notice:
            print(notice, file=sys.stderr)
    check_port_free(host, port)
    print(f"fairserve: serving on http://{host}:{port} with {workers} worker(s), {chosen}; "
          f"database {engine.dialect.name}", file=sys.stderr)
    uvicorn.run("fairserve.service.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_config=_log_config(), log_level=log_level, timeout_graceful_shutdown=30, access_log=False)


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin, agent or intake.")],
    db: DbOption = None,
    label: Annotated[str, typer.Option(help="A note to tell keys apart (not secret).")] = "",
) -> None:
    """Create an API key for ROLE and print it alone on stdout (only its hash is stored)."""
    from fairserve.service.auth import ROLES, create_key
    from fairserve.service.store import write

    if role not in ROLES:
        raise FairserveError(f"unknown role {role!r} (expected one of {', '.join(ROLES)})")
    engine = _engine(db)
    with write(engine) as conn:
        key = create_key(conn, role, label)
    engine.dispose()
    print(key)


@keys_app.command("list")
def keys_list(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List the keys: id (the start of the key's hash, never the key), role, label, created, revoked."""
    import json
    from datetime import UTC, datetime

    from fairserve.service.auth import list_keys

    engine = _engine(db)
    with engine.connect() as conn:
        rows = list_keys(conn)
    engine.dispose()
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{'id':<12}  {'role':<6}  {'created (UTC)':<19}  {'revoked':<7}  label")
    for r in rows:
        created = datetime.fromtimestamp(float(str(r["created_at"])), UTC).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{r['id']:<12}  {r['role']:<6}  {created:<19}  {'yes' if r['revoked'] else 'no':<7}  {r['label']}")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(metavar="ID", help="The key's id from `fairserve keys list` (or a "
                                          "longer start of its hash).")],
    db: DbOption = None,
) -> None:
    """Revoke a key: the API refuses it (401) and its dashboard sessions end."""
    from fairserve.service.auth import revoke_key
    from fairserve.service.store import write, write_audit

    engine = _engine(db)
    try:
        with write(engine) as conn:
            h = revoke_key(conn, key_id)
            write_audit(conn, time.time(), "cli", "key_revoked", detail={"key": h[:12]})
    except ValueError as exc:
        raise FairserveError(str(exc)) from None
    finally:
        engine.dispose()
    print(f"revoked key {h[:12]}", file=sys.stderr)


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Run the schema migrations (Alembic) up to the newest."""
    _engine(db).dispose()
    print("database is up to date", file=sys.stderr)


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``keys`` and ``db`` to ``app``."""
    app.command("serve", help=SERVE_HELP + "\n\nMigrates the database and activates the start-up policy once, "
                "loads --customers, then starts the workers.")(serve)
    app.add_typer(keys_app, name="keys")
    app.add_typer(db_app, name="db")
