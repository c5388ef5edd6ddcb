"""``fairserve check``: read an input file, validate every row, and report what is wrong with which row."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fairserve import io
from fairserve.cli.common import console, err_console, print_json
from fairserve.errors import InputError, Problem
from fairserve.io_validate import KINDS, canonical_kind

__all__ = ["register"]


def _mapping(customer_col: str | None, date_col: str | None, amount_col: str | None,
             column: list[str] | None) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in column or []:
        field, sep, name = item.partition("=")
        if not sep or not field.strip() or not name.strip():
            raise typer.BadParameter(f"expected FIELD=COLUMN, got {item!r}", param_hint="--column")
        mapping[field.strip()] = name.strip()
    for key, value in (("customer_id", customer_col), ("date", date_col), ("amount", amount_col)):
        if value is not None:
            mapping[key] = value
    return mapping


def _problem_json(problem: Problem) -> dict[str, object]:
    return {"file": problem.file, "row": problem.row, "field": problem.field, "message": problem.message}


def check(
    file: Annotated[Path, typer.Argument(help="A .csv, .csv.gz, .txt, .tsv, .parquet, .pq, .jsonl or .ndjson "
                                         "(JSON lines also .gz) file.")],
    kind: Annotated[str, typer.Option("--kind", "-k", help="transactions, customers, profiles, contacts, claimants, "
                                      "contact_history, scores (tables); scenario, policy, model (documents).")],
    customer_col: Annotated[str | None, typer.Option(help="Column holding the customer id.")] = None,
    date_col: Annotated[str | None, typer.Option(help="Column holding the transaction date.")] = None,
    amount_col: Annotated[str | None, typer.Option(help="Column holding the transaction amount.")] = None,
    column: Annotated[
        list[str] | None, typer.Option("--column", "-c", help="Map any field: FIELD=COLUMN (repeatable).")
    ] = None,
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="Accept the good rows; write the bad ones to a side file.")
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Side file for rejected rows (default <stem>.rejected.csv).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Validate an input file row by row; exit 2 and list every bad row when any is wrong."""
    if kind.strip().lower() in DOCUMENTS:
        _check_document(file, kind.strip().lower(), as_json)
        return
    try:
        kind = canonical_kind(kind)
    except ValueError:
        raise typer.BadParameter(f"expected one of {', '.join((*KINDS, *DOCUMENTS))}", param_hint="--kind") from None
    columns = _mapping(customer_col, date_col, amount_col, column)
    try:
        loaded = io.read_table(file, kind, columns=columns, skip_bad_rows=skip_bad_rows, rejects_path=rejects)
        if loaded.rows_read == 0:  # every command that reads such a file refuses it: so does its check
            raise InputError([Problem(str(file), None, None, "the file has no rows")], total_rows=0)
    except InputError as exc:
        if as_json:
            print_json({"file": str(file), "kind": kind, "valid": False, "rows_read": exc.total_rows,
                        "problems": [_problem_json(p) for p in exc.problems]})
        raise
    rejected = loaded.rows_read - len(loaded.frame)
    if as_json:
        print_json({"file": str(file), "kind": kind, "valid": rejected == 0, "rows_read": loaded.rows_read,
                    "rows_accepted": len(loaded.frame), "rows_rejected": rejected,
                    "rejects_path": str(loaded.rejects_path) if loaded.rejects_path else None,
                    "problems": [_problem_json(p) for p in loaded.problems]})
        return
    console.print(f"{file}: {loaded.rows_read:,} rows read, {len(loaded.frame):,} accepted as {kind}, "
                  f"{len(loaded.problems):,} problem(s)")
    if rejected:
        err_console.print(f"{rejected:,} row(s) rejected, written with their problems to {loaded.rejects_path}",
                          markup=False, soft_wrap=True)
        for problem in loaded.problems[:20]:
            err_console.print(f"  {problem}", markup=False, soft_wrap=True)
        if len(loaded.problems) > 20:
            err_console.print(f"  ... and {len(loaded.problems) - 20:,} more in {loaded.rejects_path}")


DOCUMENTS = ("scenario", "policy", "model")
"""The kinds of file that are one document rather than rows: scenario and policy TOML, MODEL.json."""


def _check_document(file: Path, kind: str, as_json: bool) -> None:
    """Load a scenario, policy or model as the commands that use it do; their errors name the file and field."""
    if kind == "scenario":
        from fairserve.sim import load_scenario

        scen = load_scenario(file)
        summary = f"scenario {scen.name}: {len(scen.segments)} segment(s)"
    elif kind == "policy":
        from fairserve.policy import load_policy

        pol = load_policy(str(file))
        summary = f"policy {pol.name} {pol.version}: tiers {' > '.join(pol.tier_names)}"
    else:
        from fairserve.cli.value import load_model

        vm = load_model(file)
        summary = f"model {vm.model}, calibration end {vm.calibration_end.isoformat()}"
    if as_json:
        print_json({"file": str(file), "kind": kind, "valid": True, "summary": summary})
        return
    console.print(f"{file}: valid {summary}", markup=False)


def register(app: typer.Typer) -> None:
    """Add ``check`` to ``app``."""
    app.command("check")(check)
