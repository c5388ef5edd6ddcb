"""TOML files: policies and scenarios, read and parsed with errors that name the file; no pandas here.

Part of the I/O edge (:mod:`fairserve.io` re-exports it): split out so that loading a policy or a scenario does
not import pandas, which costs most of a second of a command's start-up.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from fairserve.errors import FairserveError

__all__ = ["TomlFileError", "file_version", "package_names", "read_package_toml", "read_toml"]


class TomlFileError(FairserveError):
    """A TOML file could not be read or parsed; ``path`` is the file and ``reason`` says why, without the path.

    ``str(err)`` is ``"<path>: <reason>"``. Callers with their own error type (scenario, policy) may re-raise
    with ``reason`` and their own way of naming the file.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def read_toml(path: str | Path, what: str = "") -> dict[str, Any]:
    """Read the TOML file at ``path`` and return the parsed document (a dict).

    ``what`` names the kind of file in the messages (``"scenario"`` gives ``"<path>: no such scenario file"``).

    Raises
    ------
    TomlFileError
        ``"<path>: no such [what ]file"``, ``"... is a folder, not a [what ]file"``, ``"... not UTF-8 text:
        byte 0x.. at byte offset N, line L"``, ``"... not valid TOML: <the parser's message, with line and
        column>"`` or ``"... cannot read the file: <why>"``.
    """
    path = Path(path)
    kind = f"{what} file" if what else "file"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TomlFileError(path, f"no such {kind}") from None
    except IsADirectoryError:
        raise TomlFileError(path, f"is a folder, not a {kind}") from None
    except OSError as exc:
        if path.is_dir():  # some systems report a folder as a permission error
            raise TomlFileError(path, f"is a folder, not a {kind}") from None
        raise TomlFileError(path, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark some editors write is dropped
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise TomlFileError(
            path, f"not UTF-8 text: byte 0x{data[exc.start]:02x} at byte offset {exc.start}, line {line}"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlFileError(path, f"not valid TOML: {exc}") from None


def read_package_toml(package: str, folder: str, name: str) -> dict[str, Any]:
    """Read ``<folder>/<name>.toml`` shipped inside ``package`` (a built-in policy or scenario) and parse it.

    Raises
    ------
    TomlFileError
        ``"<built-in NAME>: not valid TOML: ..."`` (a broken built-in is a bug, but the message says where).
    """
    import importlib.resources

    res = importlib.resources.files(package).joinpath(folder, f"{name}.toml")
    try:
        return tomllib.loads(res.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TomlFileError(f"<built-in {name}>", f"not valid TOML: {exc}") from None


def package_names(package: str, folder: str, suffix: str = ".toml") -> list[str]:
    """The names (without ``suffix``) of the files shipped in ``package``'s ``folder``, sorted."""
    import importlib.resources

    files = importlib.resources.files(package).joinpath(folder)
    return sorted(p.name[: -len(suffix)] for p in files.iterdir() if p.name.endswith(suffix))


def file_version(path: str | Path) -> tuple[str, int] | None:
    """``(resolved path, modification time in ns)`` of a regular file, or None when there is no such file.

    Lets a cache of parsed files notice an edit without reading the file again.
    """
    p = Path(path)
    if not p.is_file():
        return None
    return str(p.resolve()), p.stat().st_mtime_ns
