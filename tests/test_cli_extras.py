"""A command whose optional extra is not installed says which extra to install, with exit 2 (not a crash)."""

from __future__ import annotations

from typing import Any

import pytest

import fairserve.cli as cli


def _raise(name: str) -> Any:
    def app(**_: Any) -> None:
        raise ModuleNotFoundError(f"No module named '{name}'", name=name)

    return app


@pytest.mark.parametrize(("module", "extra"), [("uvicorn", "service"), ("sqlalchemy.orm", "service"),
                                               ("pyspark", "spark")])
def test_a_missing_extra_is_named_with_its_install_command(
    module: str, extra: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "app", _raise(module))
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert f"pip install -e '.[{extra}]'" in err and "internal error" not in err


def test_another_missing_module_is_still_reported_as_a_bug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "app", _raise("not_a_real_dependency"))
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve"])
    assert exit_.value.code == 1 and "internal error" in capsys.readouterr().err
