"""Policies: who is served first, by which criteria, and why.

A policy is a TOML file (:mod:`fairserve.policy.schema`); the built-ins (``fifo``, ``value-first``,
``influence-first``, ``balanced``, ``tier-strict``) are ordinary files in ``policies/``. One pure function,
:func:`decide`, turns a contact, a customer and a policy into a :class:`~fairserve.model.Decision` with its
reasons; :func:`decide_batch` runs the same evaluator (:mod:`fairserve.policy.evaluator`) on a whole table.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fairserve.io_toml import TomlFileError, file_version, package_names, read_package_toml
from fairserve.policy.engine import Policy, decide
from fairserve.policy.schema import PolicyError, parse_policy, read_policy_file

if TYPE_CHECKING:
    from fairserve.policy.batch import decide_batch

__all__ = ["Policy", "PolicyError", "builtin_names", "decide", "decide_batch", "load_policy"]


def __getattr__(name: str) -> Any:
    """``decide_batch`` loads on first use: it needs pandas, which deciding one contact does not (PEP 562)."""
    if name == "decide_batch":
        from fairserve.policy.batch import decide_batch

        return decide_batch
    raise AttributeError(f"module 'fairserve.policy' has no attribute {name!r}")

_PACKAGE = "fairserve.policy"
_FOLDER = "policies"


def builtin_names() -> list[str]:
    """The names of the built-in policies, sorted."""
    return package_names(_PACKAGE, _FOLDER)


@functools.lru_cache(maxsize=16)
def _builtin(name: str) -> Policy:
    try:
        data = read_package_toml(_PACKAGE, _FOLDER, name)
    except TomlFileError as exc:  # a broken built-in is a bug, but say where
        raise PolicyError(exc.path, None, exc.reason) from None
    return Policy(parse_policy(data, f"<built-in {name}>"), source=name)


@functools.lru_cache(maxsize=64)
def _from_file(path: str, mtime_ns: int) -> Policy:
    return Policy(read_policy_file(path), source=path)


def load_policy(name_or_path: str | Path) -> Policy:
    """Load a built-in policy by name, or a policy file by path; compiled once and cached.

    Raises
    ------
    PolicyError
        Naming the file, the dotted path of the bad field and why; or when the name is neither a built-in
        nor an existing file.
    """
    text = str(name_or_path)
    if not isinstance(name_or_path, Path) and text in builtin_names() and file_version(text) is None:
        return _builtin(text)
    version = file_version(text)
    if version is None:
        if Path(text).is_dir():
            raise PolicyError(text, None, "is a folder, not a policy file")
        raise PolicyError(
            text, None, f"no such policy file, and not a built-in policy ({', '.join(builtin_names())})"
        )
    try:
        return _from_file(*version)
    except PolicyError as exc:  # name the file as it was given, as a scenario's errors do
        raise PolicyError(text, *exc.problems[0], more=exc.problems[1:]) from None
