"""Pydantic's validation errors of a TOML file, told in plain words: the path, what the value must be, the value.

Scenario and policy files are validated with pydantic, whose messages speak of Python ("Input should be a valid
number, unable to parse string as a number", "Extra inputs are not permitted", a union member's name such as
``constrained-float`` in the location). A person editing a TOML file needs instead the key's TOML path
(``segments[1].arrival_rate``), what to write there and what the file has now::

    segments[1].arrival_rate: must be a number greater than 0, not -2
    center.agnts: 'agnts' is not a key of [center]: did you mean 'agents'?

:func:`plain_errors` turns the error dicts of ``ValidationError.errors()`` into such ``(path, words)`` pairs. What
a value must be is read from the model itself (the field's type, its bounds and lengths), so every model is
worded the same way and a new field needs no new message. What differs between files is given once as a
:class:`Wording`: the root model, how the file is named, where its keys are documented, fields whose type says
too little (a duration written as a number or a text), and keys renamed since an older format. Messages written
by a model's own validators (``ValueError``) are already sentences and pass through whole.

Numbers and yes/no values of both kinds of file are strict (pydantic's ``StrictFloat``, ``StrictInt``,
``StrictBool``): TOML has typed values, so ``agents = true`` or ``clv_min = "100"`` is refused as ``must be a
number ..., not true`` rather than taken as 1 or 100. :func:`file_problems` lays the problems of one file out the
same way for both: one problem on one line, several under a header.
"""

from __future__ import annotations

import difflib
import math
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args, get_origin

from pydantic import BaseModel

from fairserve.model import Channel

__all__ = ["Wording", "file_problems", "plain_errors", "shown", "toml_path"]


@dataclass(frozen=True)
class Wording:
    """What the words of one kind of file need beyond its model.

    Parameters
    ----------
    root
        The pydantic model of the whole file (``Scenario``, ``PolicySpec``); every error location starts there.
    file_kind
        The file in words, without an article: ``"scenario"`` gives "is not a key of a scenario" and "the scenario
        needs a [center] table".
    docs
        Where the keys are documented, named for a table with too many keys to list (``"docs/scenario.md"``).
    choices
        ``(model name, field name) -> words`` for fields whose type says too little, e.g. a duration that is a
        number or a text: the words replace what the type would say after "must be".
    renamed
        ``old key -> what it is now`` for keys of an older format, told instead of "not a key":
        ``'head_start_min' is now <words>``.
    """

    root: type[BaseModel]
    file_kind: str
    docs: str
    choices: Mapping[tuple[str, str], str] = field(default_factory=dict)
    renamed: Mapping[str, str] = field(default_factory=dict)


class _Spot(NamedTuple):
    """Where an error location leads: the field's path (a union member's name cut off), its type, its pydantic
    FieldInfo (or None), and whether the location is a table's key rather than its value."""

    loc: tuple[Any, ...]
    ann: Any
    info: Any
    is_key: bool


def toml_path(loc: Sequence[Any]) -> str:
    """A pydantic location as the file's TOML path: ``("segments", 1, "arrival_rate")`` -> ``segments[1].arrival_rate``.

    Parameters
    ----------
    loc
        The location, names and list indexes.

    Returns
    -------
    str
        The dotted path; ``""`` for the whole file.
    """
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def shown(value: Any) -> str:
    """A value as a TOML file writes it: ``-2``, ``'abc'``, ``true``, ``nan``, ``[1, 'x']``, ``a table``.

    Parameters
    ----------
    value
        The value pydantic was given (the parsed TOML).

    Returns
    -------
    str
        The value in the file's own notation; a long list is cut to about 60 characters.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value == math.inf else "-inf" if value == -math.inf
                                                 else repr(value))
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        text = "[" + ", ".join(shown(v) for v in value) + "]"
        return text if len(text) <= 60 else text[:56] + " ...]"
    return str(value)


def _strip_none(ann: Any) -> Any:
    """``X | None`` -> ``X`` (TOML has no null: leaving the key out is how one says None); any other union as a
    ``typing.Union``, so that ``get_origin`` is ``Union`` for every union."""
    if isinstance(ann, types.UnionType) or get_origin(ann) is Union:
        args = [a for a in get_args(ann) if a is not type(None)]
        return args[0] if len(args) == 1 else Union[tuple(args)]  # noqa: UP007 (a union built at run time)
    return ann


def _unwrap(ann: Any) -> tuple[Any, list[Any]]:
    """``Annotated[float, Field(ge=0)]`` -> ``(float, [Ge(0)])``: the type and its constraints."""
    if get_origin(ann) is not Annotated:
        return ann, []
    base, *extra = get_args(ann)
    meta: list[Any] = []
    for item in extra:
        meta.extend(getattr(item, "metadata", None) or [item])
    return base, meta


def _is_model(ann: Any) -> bool:
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def _is_list(ann: Any) -> bool:
    """A list or a tuple of any length (``tuple[str, ...]``): a TOML array."""
    args = get_args(ann)
    return get_origin(ann) is list or (get_origin(ann) is tuple and len(args) == 2 and args[1] is Ellipsis)


def _item(ann: Any, index: int) -> Any:
    """The type of item ``index`` of a list or tuple type; None past a fixed tuple's end."""
    args = get_args(ann)
    if _is_list(ann):
        return args[0]
    return args[index] if index < len(args) else None


def _field_at(loc: tuple[Any, ...], root: type[BaseModel], into_member: bool = False) -> _Spot:
    """What the model expects at ``loc``.

    A union's member name that pydantic adds to the location (``within.float``, ``head_start.PerChannel``) is
    cut off: the location stops at the union, so the errors of each member become one, unless it goes on into a
    member that is a table (``head_start.PerChannel.phone`` -> ``head_start.phone``) or ``into_member`` asks for
    the member a location ends with. ``is_key`` is True for a table's key (``targets.fax``, pydantic's
    ``[key]``). The type is None where the location leads nowhere known.
    """
    ann: Any = root
    info: Any = None
    clean: list[Any] = []
    i = 0
    while i < len(loc):
        part = loc[i]
        ann = _strip_none(ann)
        if _is_model(ann):
            if not isinstance(part, str) or part not in ann.model_fields:
                return _Spot((*clean, *loc[i:]), None, None, False)
            info = ann.model_fields[part]
            ann = info.annotation
        elif get_origin(ann) in (list, tuple) and isinstance(part, int):
            ann, info = _item(ann, part), None
            if ann is None:
                return _Spot((*clean, *loc[i:]), None, None, False)
        elif get_origin(ann) is dict:
            if loc[i + 1: i + 2] == ("[key]",):
                return _Spot((*clean, part), get_args(ann)[0], None, True)
            ann, info = get_args(ann)[1], None
        elif get_origin(ann) is Union:
            member = next((m for m in get_args(ann) if _is_model(m) and m.__name__ == part), None)
            if member is None or (i + 1 == len(loc) and not into_member):
                return _Spot(tuple(clean), ann, info, False)  # the rest is a union member's name
            ann, info = member, None
            i += 1
            continue  # the member's name is not part of the path
        else:
            return _Spot((*clean, *loc[i:]), None, None, False)
        clean.append(part)
        i += 1
    return _Spot(tuple(clean), ann, info, False)


def _choices(values: list[Any]) -> str:
    """``'a'``, ``'a' or 'b'``, ``one of 'a', 'b' or 'c'``."""
    words = [repr(str(v)) for v in values]
    if len(words) < 3:
        return " or ".join(words)
    return "one of " + ", ".join(words[:-1]) + f" or {words[-1]}"


def _kind(ann: Any, plural: bool = False) -> str:
    """A type in words: ``a number``, ``a whole number``, ``one of 'phone', 'email', 'chat' or 'social'``."""
    ann, meta = _unwrap(_strip_none(ann))
    origin = get_origin(ann)
    if ann is bool:
        return "true or false"
    if ann in (int, float):
        single, many = ("a whole number", "whole numbers") if ann is int else ("a number", "numbers")
        return f"{many if plural else single} {_bounds(meta)}".strip()
    if ann is str:
        return "texts" if plural else "text (in quotes)"
    if origin is Literal:
        return f"{'values, each ' if plural else ''}{_choices(list(get_args(ann)))}"
    if ann is Channel:
        names = _choices([m.value for m in ann]).removeprefix("one of ")
        return f"channels ({names})" if plural else f"a channel ({names})"
    if isinstance(ann, type) and issubclass(ann, Enum):
        return f"{'values, each ' if plural else ''}{_choices([m.value for m in ann])}"
    if _is_list(ann):
        return f"a list of {_kind(get_args(ann)[0], plural=True)}"
    if origin is tuple:  # a fixed number of items
        args = get_args(ann)
        each = _kind(args[0], plural=True) if all(a == args[0] for a in args) else "values"
        return f"a list of {len(args)} {each}"
    if origin is dict or _is_model(ann):
        return "tables" if plural else "a table"
    if origin is Union:
        return " or ".join(_kind(a, plural) for a in get_args(ann))
    return "values" if plural else "a value"


def _bounds(meta: Sequence[Any]) -> str:
    """The limits of a field in words: ``greater than 0``, ``from 0 to 1``, ``of at least 1``."""
    got: dict[str, Any] = {}
    for item in meta:
        for name in ("gt", "ge", "lt", "le"):
            if getattr(item, name, None) is not None:
                got[name] = getattr(item, name)
    low = f"greater than {got['gt']:g}" if "gt" in got else (f"at least {got['ge']:g}" if "ge" in got else "")
    high = f"less than {got['lt']:g}" if "lt" in got else (f"at most {got['le']:g}" if "le" in got else "")
    if "ge" in got and "le" in got:
        words = f"from {got['ge']:g} to {got['le']:g}"
    elif low and high:
        words = f"{low} and {high}"
    else:
        words = low or high
    if words.startswith("at "):
        words = "of " + words
    return words


def _lengths(info: Any) -> tuple[int | None, int | None]:
    """A field's ``(min_length, max_length)``, each None when not set."""
    meta = info.metadata if info is not None else ()
    low = next((m.min_length for m in meta if getattr(m, "min_length", None) is not None), None)
    high = next((m.max_length for m in meta if getattr(m, "max_length", None) is not None), None)
    return low, high


def _header(loc: tuple[Any, ...]) -> str:
    """The TOML table header of ``loc``: ``[center]``, ``[[segments]]``, ``[targets.chat]``."""
    names = [str(p) for p in loc if not isinstance(p, int)]
    return f"[[{'.'.join(names)}]]" if loc and isinstance(loc[-1], int) else f"[{'.'.join(names)}]"


def _model_name(loc: tuple[Any, ...], root: type[BaseModel]) -> str | None:
    ann = _strip_none(_field_at(loc, root).ann if loc else root)
    return ann.__name__ if _is_model(ann) else None


def _expected(spot: _Spot, wording: Wording, finite: bool = False) -> str:
    """What the value at ``spot`` must be, in words: ``a number greater than 0``, ``a list of numbers``, ..."""
    loc, ann, info = spot.loc, spot.ann, spot.info
    for (model, name), words in wording.choices.items():
        if loc and loc[-1] == name and _model_name(loc[:-1], wording.root) == model:
            return words
    base = _unwrap(_strip_none(ann))[0]  # a StrictFloat is a float: its bounds are the field's
    if _is_model(base):
        return f"a table ({_header(loc)})"
    if get_origin(base) is dict:
        return f"a table ({_header(loc)}) whose keys are {_kind(get_args(base)[0], plural=True)}"
    low, high = _lengths(info)
    if _is_list(base) and _is_model(get_args(base)[0]):
        return f"one or more {_header((*loc, 0))} tables" + (f" (at most {high})" if high is not None else "")
    if get_origin(base) is Union:
        table = "a table" if loc and isinstance(loc[-1], int) else f"a table ({_header(loc)})"
        words = " or ".join(table if _is_model(m) else _kind(m) for m in get_args(base))
    else:
        words = _kind(ann)
    if low and _is_list(base):
        many = "one or more" if low == 1 else f"{low} or more"
        words = words.replace("a list of ", f"a list of {many} ", 1)
    elif base is str and high is not None:
        words = f"text (in quotes) of {low or 0} to {high} characters"
    elif low and base is str:
        words = "text (in quotes) that is not empty"
    if finite:
        words = words.replace("a number", "a finite number", 1)
    bounds = _bounds(info.metadata) if info is not None and base in (int, float) else ""
    return f"{words} {bounds}".strip()


def _unknown_key(loc: tuple[Any, ...], key: str, wording: Wording) -> tuple[tuple[Any, ...], str]:
    """The path of a key the model does not take and what to say of it: ``'agnts' is not a key of [center]: did
    you mean 'agents'?``, else the keys it takes (or where they are listed, for a table of many keys)."""
    top = _Spot((), wording.root, None, False)
    parent = _field_at(loc[:-1], wording.root, into_member=True) if len(loc) > 1 else top
    model = _strip_none(parent.ann)
    path = (*parent.loc, key) if parent.ann is not None else loc
    if key in wording.renamed:
        return path, f"{key!r} is now {wording.renamed[key]}"
    where = _header(parent.loc) if len(loc) > 1 else f"a {wording.file_kind}"
    if not _is_model(model):
        return path, f"{key!r} is not a key of {where}"
    keys = list(model.model_fields)
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.7)
    if close:
        return path, f"{key!r} is not a key of {where}: did you mean {close[0]!r}?"
    if len(keys) <= 8:
        return path, f"{key!r} is not a key of {where}, which takes {', '.join(keys[:-1])} and {keys[-1]}"
    return path, f"{key!r} is not a key of {where} (its keys are listed in {wording.docs})"


def _plain(error: Mapping[str, Any], spot: _Spot, finite: bool, wording: Wording) -> tuple[str, str]:
    """One pydantic error as ``(TOML path, what is wrong in plain words)``."""
    kind, loc, value = error["type"], tuple(error["loc"]), error.get("input")
    if kind == "extra_forbidden":
        path, words = _unknown_key(loc, str(loc[-1]), wording)
        return toml_path(path), words
    if kind in ("value_error", "assertion_error"):
        return toml_path(spot.loc if spot.ann is not None else loc), re.sub(r"^(Value|Assertion) error, ", "",
                                                                            error["msg"])
    if spot.ann is None:
        return toml_path(loc), f"{error['msg']} (not {shown(value)})"
    expected = _expected(spot, wording, finite=finite)
    where = toml_path(spot.loc)
    if spot.is_key:
        return where, f"the key must be {expected}, not {shown(value)}"
    if kind == "missing":
        base = _strip_none(spot.ann)
        if spot.loc and isinstance(spot.loc[-1], int):  # an item of a list of a fixed length
            whole = _field_at(spot.loc[:-1], wording.root)
            return where, f"missing: {toml_path(whole.loc)} must be {_expected(whole, wording)}, not {shown(value)}"
        if _is_model(base):
            owner = f"the {_header(spot.loc[:-1])} table" if len(spot.loc) > 1 else f"the {wording.file_kind}"
            return where, f"missing: {owner} needs a {_header(spot.loc)} table"
        if expected.startswith("one or more ["):
            return where, f"missing: the {wording.file_kind} needs {expected}"
        return where, f"missing: it must be {expected}"
    return where, f"must be {expected}, not {shown(value)}"


def _after_items(error: Mapping[str, Any]) -> bool:
    """True for pydantic's "too short" of a list that is long enough but whose bad items were not counted
    (``tiers = [3]``: "at least 1 item after validation, not 0"); the items' own errors say what is wrong."""
    ctx = error.get("ctx") or {}
    given = error.get("input")
    return error["type"] == "too_short" and isinstance(given, list) and len(given) >= ctx.get("min_length", 1)


def plain_errors(errors: Sequence[Mapping[str, Any]], wording: Wording) -> list[tuple[str, str]]:
    """Pydantic's errors of one file as ``(TOML path, what is wrong)`` pairs, in plain words, each once.

    Parameters
    ----------
    errors
        ``ValidationError.errors()`` of ``wording.root.model_validate(data)``.
    wording
        The root model and the file's own words (:class:`Wording`).

    Returns
    -------
    list of (str, str)
        In pydantic's order (the file's): the path (``""`` for the whole file) and e.g. ``must be a number
        greater than 0, not -2``. The errors pydantic gives for each member of a union (a number, or a text, or a
        table) are told once, as what the value may be; for a table given to a union with a table member, only
        the table's own errors are told.
    """
    spots = [_field_at(tuple(e["loc"]), wording.root) for e in errors]
    at_union = [get_origin(_strip_none(s.ann)) is Union and not s.is_key for s in spots]
    # a table given where a number or a table may be: its own errors (head_start.phone), not "not a number"
    deeper = {s.loc[:n] for s, e in zip(spots, errors, strict=True) if len(s.loc) < len(e["loc"])
              for n in range(len(s.loc))}
    finite = {s.loc for s, u, e in zip(spots, at_union, errors, strict=True) if u and e["type"] == "finite_number"}
    out = [
        _plain(e, s, e["type"] == "finite_number" or (u and s.loc in finite), wording)
        for e, s, u in zip(errors, spots, at_union, strict=True)
        if not (u and isinstance(e.get("input"), dict) and s.loc in deeper) and not _after_items(e)
    ]
    return list(dict.fromkeys(out))


def file_problems(file: str, problems: Sequence[tuple[str | None, str]]) -> str:
    """The problems of one file as the message of its error, laid out alike for scenarios and policies.

    Parameters
    ----------
    file
        The file as the user named it (or e.g. ``<built-in balanced>``).
    problems
        ``(TOML path or None for the whole file, what is wrong)`` pairs, at least one, in the file's order.

    Returns
    -------
    str
        One problem: ``FILE: path: words`` (``FILE: words`` for the whole file). Several: a line
        ``FILE: N problems:`` and then one indented ``path: words`` line each (``(top level)`` for the whole
        file).
    """
    if len(problems) == 1:
        where, what = problems[0]
        return f"{file}: {where}: {what}" if where else f"{file}: {what}"
    lines = [f"  {where or '(top level)'}: {what}" for where, what in problems]
    return f"{file}: {len(problems)} problems:\n" + "\n".join(lines)
