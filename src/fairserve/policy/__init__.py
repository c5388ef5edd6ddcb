"""Policies: who is served first, by which criteria, and why.

A policy is a TOML file (:mod:`fairserve.policy.schema`); the built-ins (``fifo``, ``value-first``,
``influence-first``, ``balanced``, ``tier-strict``) are ordinary files in ``policies/``. One pure function,
:func:`decide`, turns a contact, a customer and a policy into a :class:`~fairserve.model.Decision` with its
reasons; :func:`decide_batch` is its vectorised twin.
"""

from __future__ import annotations

import functools
import importlib.resources
import tomllib
from pathlib import Path

from fairserve.policy.batch import decide_batch
from fairserve.policy.engine import Policy, decide
from fairserve.policy.schema import PolicyError, parse_policy, read_policy_file

__all__ = ["Policy", "PolicyError", "builtin_names", "decide", "decide_batch", "load_policy"]

_PACKAGE = "fairserve.policy"
_FOLDER = "policies"


def builtin_names() -> list[str]:
    """The names of the built-in policies, sorted."""
    files = importlib.resources.files(_PACKAGE).joinpath(_FOLDER)
    return sorted(p.name[: -len(".toml")] for p in files.iterdir() if p.name.endswith(".toml"))


@functools.lru_cache(maxsize=16)
def _builtin(name: str) -> Policy:
    res = importlib.resources.files(_PACKAGE).joinpath(_FOLDER, f"{name}.toml")
    try:
        data = tomllib.loads(res.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:  # a broken built-in is a bug, but say where
        raise PolicyError(f"<built-in {name}>", None, f"not valid TOML: {exc}") from None
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
    if not isinstance(name_or_path, Path) and text in builtin_names():
        return _builtin(text)
    path = Path(text)
    if not path.is_file():
        raise PolicyError(
            text, None, f"no such policy file, and not a built-in policy ({', '.join(builtin_names())})"
        )
    return _from_file(str(path.resolve()), path.stat().st_mtime_ns)
