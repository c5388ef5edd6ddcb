"""The command line: thin Typer commands that translate arguments and call the library.

One module per command group (``value``, ``policy``, ``sim``, ``demo``, ...); each exposes ``register(app)``.
Errors the library raises on purpose (:class:`~fairserve.errors.FairserveError`) become a message on stderr and
exit code 2; nothing else is caught.

A command loads only what it needs. The root group (:class:`LazyGroup`) knows each command's name, module and
one-line help (:data:`COMMANDS`), and imports a command's module only when that command runs or its own help is
asked for: ``fairserve --help`` or ``fairserve policy list`` does not import the simulator (numba), SciPy or the
value models. ``tests/test_cli.py`` holds each line of :data:`COMMANDS` to the help its module really gives.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import sys
from typing import Any, NoReturn

import typer
from typer import _click as click  # Typer vendors its own click; its groups and commands are of that one
from typer.core import TyperCommand, TyperGroup, TyperOption

from fairserve.errors import FairserveError

__all__ = ["COMMANDS", "LazyGroup", "app", "main"]

# name -> (module whose register(app) adds it, its one-line help as the module gives it); in the order of --help
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("fairserve.cli.demo",
             "The main job on real CDNOW data: value, influence, policy audit, one simulated week, what-if."),
    "check": ("fairserve.cli.data",
              "Validate an input file row by row; exit 2 and list every bad row when any is wrong."),
    "value": ("fairserve.cli.value", "Customer value: fit CLV models on a transaction log, score customers."),
    "policy": ("fairserve.cli.policy",
               "Policies: list, check, explain, audit, diff; decide a file of contacts; allocate scarce goods."),
    "simulate": ("fairserve.cli.sim",
                 "Simulate the contact centre under each policy; compare waits, abandonment, displacements and "
                 "costs."),
    "whatif": ("fairserve.cli.sim",
               "What if that was you? One customer's wait, tier and who overtook them, under each policy."),
    "staff": ("fairserve.cli.sim",
              "Erlang C (or Erlang A with --patience-mean): service of N agents, or the agents a target needs."),
    "text": ("fairserve.cli.text", "Text triage: train and evaluate models, classify posts and messages."),
    "listen": ("fairserve.cli.text",
               "The listening report: volume and sentiment over time, rising topics, top risks, anecdotes per topic."),
    "serve": ("fairserve.cli.serve",
              "Run the live service: intake, queues, agents, webhooks, transparency links (HTTP API)."),
    "keys": ("fairserve.cli.serve",
             "API keys of the live service: create one for a role (admin, agent, intake), list, revoke."),
    "db": ("fairserve.cli.serve", "The live service's database: run the schema migrations."),
}


def plain_flags(command: click.Command) -> click.Command:
    """Show the flags of ``command`` and of its subcommands (``--json``, ``--help``) as plain flags in help.

    Typer's rich help puts a value's type after every option, a flag's too (``--json <bool>``), though a flag
    takes no value; an empty metavar leaves its type column blank. Options that take a value keep their type; a
    repeatable one shows the type of one value (``<str>``, not ``<list[str]>``). Returns ``command``.
    """
    help_option = command.get_help_option(click.Context(command))  # made once per command, then kept
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = ""
        elif isinstance(param, TyperOption) and param.multiple and param.metavar is None:
            # a repeatable option showed its Python annotation, <list[str]>: it takes one value a time
            kind = getattr(getattr(param, "type_descriptor", None), "annotation", None)
            inner = getattr(kind, "__args__", None) or (str,)
            param.metavar = f"<{getattr(inner[0], '__name__', 'str').lower()}>"
    for sub in getattr(command, "commands", {}).values():
        plain_flags(sub)
    return command


def load_command(name: str) -> click.Command:
    """Import the module of command ``name`` and return the click command its ``register`` adds."""
    module = importlib.import_module(COMMANDS[name][0])
    scratch = typer.Typer(add_completion=False)
    module.register(scratch)
    built = typer.main.get_command(scratch)
    commands = getattr(built, "commands", None)
    return plain_flags(commands[name] if commands is not None else built)


class LazyGroup(TyperGroup):
    """The root group: lists every command from :data:`COMMANDS`, imports one only when it is resolved."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plain_flags(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.commands, *(n for n in COMMANDS if n not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return self.commands.get(cmd_name)
        # listed in the root help: a stand-in with the one-line help, no import
        return TyperCommand(name=cmd_name, help=COMMANDS[cmd_name][1])

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] in COMMANDS and args[0] not in self.commands:
            self.commands[args[0]] = load_command(args[0])
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="fairserve",
    help="Decide which customer is served first, and why: value, influence and need, explicit and measurable.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=LazyGroup,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"fairserve {version('fairserve')}")
        except PackageNotFoundError:  # run from a source tree that is not installed
            from fairserve import __version__

            print(f"fairserve {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True,
                                 callback=_print_version),
) -> None:
    """Decide which customer is served first, and why."""


def _report_crash(exc: BaseException, argv: list[str] | None) -> str:
    """Write the traceback of an unexpected error to a file in the temporary folder; return its path."""
    import datetime as dt
    import os
    import tempfile
    import traceback

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    fd, path = tempfile.mkstemp(prefix=f"fairserve-crash-{stamp}-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"fairserve {' '.join(sys.argv[1:] if argv is None else argv)}\n\n")
        fh.write("".join(traceback.format_exception(exc)))
    return path


# optional dependencies and the extra of pyproject.toml that installs each (make demo installs only `demo`)
_EXTRAS = {name: "service" for name in ("fastapi", "uvicorn", "sqlalchemy", "alembic", "psycopg", "starlette")}
_EXTRAS.update(pyspark="spark")


def _no_collection_at_exit() -> None:
    """Have the interpreter's shutdown skip the cycle collections over the objects the command leaves behind.

    At exit CPython runs full collections of the heap while it tears the modules down. After a command that
    loaded pandas, SciPy and numba (a few hundred thousand objects) they took most of half a second of
    ``fairserve value fit`` on 10 million rows (``benchmarks/value_stages.py`` prints the interpreter's start and
    exit; ``perf record``: ``gc_collect_main`` and its visits were most of the samples after the command).
    ``gc.freeze()`` as the last exit handler moves every object to the permanent generation, which those
    collections do not visit; the process ends and the operating system takes the memory back anyway. Nothing
    is lost: handlers registered after this one (the thread pools', temporary folders', Spark's) run before it,
    as exit handlers run last-in first-out, and the commands close every file they write before they return.
    """
    global _EXIT_FREEZE
    if not _EXIT_FREEZE:
        atexit.register(gc.freeze)
        _EXIT_FREEZE = True


_EXIT_FREEZE = False


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; a :class:`FairserveError` prints its message and exits with its code (2).

    Usage errors are Typer's own (exit 2). Any other exception is a bug: one line on stderr says what it was
    and where its full traceback was written (a file in the temporary folder), and the exit code is 1. Run as
    the process's command (``argv`` None), the interpreter's exit skips its cycle collections
    (:func:`_no_collection_at_exit`).
    """
    if argv is None:
        _no_collection_at_exit()
    try:
        app(args=argv, prog_name="fairserve")
    except FairserveError as exc:
        from rich.markup import escape

        from fairserve.cli import common

        common.err_console.print("[bold red]error:[/] " + escape(str(exc)), highlight=False, markup=True,
                                  soft_wrap=True)  # a path or a value is never broken across lines
        sys.exit(exc.exit_code)
    except (SystemExit, KeyboardInterrupt):
        raise
    except OSError as exc:  # the machine's answer about a path (disk full, permission, a folder): not a bug
        if exc.filename is None:
            _crash(exc, argv)
        print(f"error: {exc.filename}: {(exc.strerror or str(exc)).lower()}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:  # a bug: say so in one line, keep the traceback in a file
        missing = (exc.name or "") if isinstance(exc, ModuleNotFoundError) else ""
        extra = _EXTRAS.get(missing.split(".")[0])
        if extra is not None:  # not a bug: an optional extra is not installed
            print(f"error: this command needs the '{extra}' extra, which is not installed here ({missing} is "
                  f"missing): run  .venv/bin/pip install -e '.[{extra}]'  (make test installs every extra)",
                  file=sys.stderr)
            sys.exit(2)
        _crash(exc, argv)


def _crash(exc: BaseException, argv: list[str] | None) -> NoReturn:
    """Say in one line that ``exc`` is a bug, keep its traceback in a file, exit 1."""
    path = _report_crash(exc, argv)
    first = str(exc).splitlines()[0] if str(exc) else ""
    print(f"internal error ({type(exc).__name__}: {first[:200]}); this is a bug in fairserve, not in "
          f"your input. The full report is in {path}", file=sys.stderr)
    sys.exit(1)
