"""The command line: thin Typer commands that translate arguments and call the library.

One module per command group (``value``, ``policy``, ``sim``, ``demo``); each exposes ``register(app)``.
Errors the library raises on purpose (:class:`~fairserve.errors.FairserveError`) become a message on stderr and
exit code 2; nothing else is caught.
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from fairserve.cli import common, data, demo, policy, sim, value
from fairserve.errors import FairserveError

__all__ = ["app", "main"]

app = typer.Typer(
    name="fairserve",
    help="Decide which customer is served first, and why: value, influence and need, explicit and measurable.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

for _module in (demo, data, value, policy, sim):
    _module.register(app)


@app.callback()
def _root() -> None:
    """Decide which customer is served first, and why."""


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a :class:`FairserveError` prints its message and exits with its code (2).

    Usage errors are Typer's own (exit 2); anything else is a bug and keeps its traceback.
    """
    try:
        app(args=argv, prog_name="fairserve")
    except FairserveError as exc:
        common.err_console.print("[bold red]error:[/] " + escape(str(exc)), highlight=False, markup=True)
        sys.exit(exc.exit_code)
