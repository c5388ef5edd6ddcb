"""Replications in parallel give a serial run's results, and the speed work left the simulated waits unchanged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cli_helpers import run_cli
from fairserve.sim import compare_policies, load_scenario
from fairserve.sim.engine import resolve_policy, run_replication


def _short(duration: float = 120.0, warmup: float = 10.0) -> Any:
    scen = load_scenario("two-tiers")
    return scen.model_copy(update={"center": scen.center.model_copy(update={"duration": duration, "warmup": warmup})})


def _without_elapsed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_elapsed(v) for k, v in value.items() if k != "elapsed_s"}
    return value


def test_replications_in_two_processes_give_the_serial_result_value_for_value() -> None:
    scen = _short()
    serial = compare_policies(scen, ["fifo", "tier-strict"], replications=4, seed=11, jobs=1)
    parallel = compare_policies(scen, ["fifo", "tier-strict"], replications=4, seed=11, jobs=2)
    assert _without_elapsed(parallel) == _without_elapsed(serial)
    assert serial["policies"]["tier-strict"]["segments"]["gold"]["mean_wait"] > 0  # something was simulated
    other_seed = compare_policies(scen, ["fifo", "tier-strict"], replications=4, seed=12, jobs=2)
    assert _without_elapsed(other_seed) != _without_elapsed(serial)  # the comparison can fail


def test_simulate_jobs_option_changes_nothing_but_the_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "short.toml"
    text = (Path(__file__).parents[2] / "src/fairserve/sim/scenarios/two-tiers.toml").read_text()
    path.write_text(text.replace("duration = 5000.0", "duration = 100.0").replace("warmup = 500.0", "warmup = 10.0"))
    runs = []
    for jobs in ("1", "2"):
        code, out, err = run_cli(["simulate", str(path), "--policy", "tier-strict", "--replications", "3", "--json",
                                  "--jobs", jobs], capsys)
        assert code == 0, err
        runs.append(_without_elapsed(json.loads(out)))
    assert runs[0] == runs[1]


# Waits of one replication, recorded at commit ef45d34, before the simulator's speed work of issue 9: the sha256
# of the `wait` column's bytes (two-tiers, 300 minutes, 30 of warm-up, seed 20261130) and its sum.
RECORDED = {
    "tier-strict": (15897, 992.9882194748844, "f65c7733ddfe2cec7a7ca9a89a03b6b104cbb50ce00a542f0addcee1d11f0d0d"),
    "balanced": (15897, 964.1868699195284, "de42d6d794ed7d8e87f155899f30c7cc0495b3e3f5f81e24e04b313550663d18"),
}


@pytest.mark.parametrize("policy", sorted(RECORDED))
def test_simulated_waits_for_a_seed_are_those_recorded_before_the_speed_work(policy: str) -> None:
    frame = run_replication(_short(300.0, 30.0), resolve_policy(policy)[1], np.random.default_rng(20261130))
    wait = np.ascontiguousarray(frame["wait"].to_numpy())
    assert (len(frame), float(wait.sum()), hashlib.sha256(wait.tobytes()).hexdigest()) == RECORDED[policy]


def test_the_timed_run_finds_the_kernels_loaded() -> None:
    """compare_policies warms the kernels on a slice of the same scenario: the timed run adds no signature."""
    from fairserve.sim import _kernel
    from fairserve.sim.engine import _warm

    if not _kernel.HAVE_NUMBA:
        pytest.skip("numba is not installed")
    scen = _short()
    task = (scen, [resolve_policy("balanced")], None, "auto", None)
    _warm(task)  # type: ignore[arg-type]
    before = [list(f.signatures) for f in _kernel.COMPILED]  # the loop, overtakes and the metrics' passes
    assert all(before)
    compare_policies(scen, ["balanced"], replications=1, seed=3)
    assert [list(f.signatures) for f in _kernel.COMPILED] == before
