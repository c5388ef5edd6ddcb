"""The public API is declared once in ``fairserve.__all__``; keep it honest (httpx tests/test_exported_members.py)."""

from __future__ import annotations

import fairserve


def test_all_names_exist_and_are_sorted_and_unique() -> None:
    names = fairserve.__all__
    assert len(names) == len(set(names))
    assert sorted(names) == list(names)
    for name in names:
        assert hasattr(fairserve, name), name


def test_every_public_member_is_exported() -> None:
    public = {
        name
        for name, value in vars(fairserve).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("fairserve")
    }
    assert public <= set(fairserve.__all__), public - set(fairserve.__all__)


def test_exported_members_say_where_they_come_from() -> None:
    for name in fairserve.__all__:
        if name == "__version__":
            continue
        member = getattr(fairserve, name)
        assert getattr(member, "__module__", "").startswith("fairserve."), name


def test_importing_fairserve_or_its_value_models_does_not_load_the_simulator_kernel() -> None:
    import subprocess
    import sys

    code = "import sys, fairserve, fairserve.value, fairserve.policy; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    code = "import sys, fairserve; fairserve.compare_policies; print('fairserve.sim' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
