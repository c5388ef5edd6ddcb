"""Third round of a new user's review: each test runs the real CLI on a small file a user could write.

``policy decide`` shows its decisions with times a person reads (its ``--json`` keeps POSIX seconds); a broken
scenario file is refused in plain words naming the file, the field's TOML path, the bad value and what it must be,
for every kind of mistake pydantic can find in one; a scenario that is neither a file nor a built-in names the
built-in ones. Every refusal exits 2, never with a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest

from cli_helpers import run_cli
from fairserve.cli.decide import SHOWN_ROWS, utc_text
from fairserve.sim.scenario import builtin_scenarios

# ---------------------------------------------------------------- policy decide: readable times


def _contacts(tmp_path: Path, rows: int = 3) -> Path:
    arrivals = ["2026-11-30T09:00:00", "2026-11-30T10:01:00+01:00", "2026-11-30T09:02:00Z"]
    frame = pd.DataFrame({
        "contact_id": [f"c{i}" for i in range(rows)],
        "channel": (["phone", "chat", "email"] * rows)[:rows],
        "arrival": (arrivals * rows)[:rows],
        "customer_id": [str(i) for i in range(rows)],
    })
    path = tmp_path / "contacts.csv"
    frame.to_csv(path, index=False)
    return path


def test_utc_text_is_the_utc_date_and_clock_time_of_posix_seconds() -> None:
    when = dt.datetime(2026, 11, 30, 9, 1, 0, tzinfo=dt.UTC).timestamp()
    assert utc_text(when) == "2026-11-30 09:01:00"
    assert utc_text(when + 0.4) == "2026-11-30 09:01:00" and utc_text(when + 0.6) == "2026-11-30 09:01:01"
    assert utc_text(float("nan")) == "-"


def test_policy_decide_prints_sla_deadlines_as_dates_and_times(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The printed decisions showed no time a person reads (the reviewer saw ``1796029260.0``): each contact's SLA
    deadline is its UTC date and time, arrival + the policy's SLA (fifo.toml: phone 1 min, chat 2, email 1,440); an
    arrival with an offset is converted (10:01+01:00 is 09:01 UTC)."""
    code, out, err = run_cli(["policy", "decide", str(_contacts(tmp_path)), "--policy", "fifo", "--no-text"], capsys)
    assert code == 0, err
    assert "3 contacts decided" in out and "SLA deadline in UTC" in out
    rows = {line.split()[0]: line for line in out.splitlines() if re.match(r"c\d+ ", line)}
    assert sorted(rows) == ["c0", "c1", "c2"]
    assert rows["c0"].endswith("2026-11-30 09:01:00") and "phone" in rows["c0"]
    assert rows["c1"].endswith("2026-11-30 09:03:00") and "chat" in rows["c1"]
    assert rows["c2"].endswith("2026-12-01 09:02:00") and "email" in rows["c2"]
    assert "179" not in out  # no POSIX seconds (1796...) in what a person reads


def test_policy_decide_json_keeps_posix_seconds_that_the_table_shows_as_dates(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--json`` is for programs: ``sla_deadline`` stays a number (POSIX seconds, as decide() keeps it), the
    same instant the table prints, and ``--help`` says what the numbers are."""
    contacts = _contacts(tmp_path)
    code, out, err = run_cli(["policy", "decide", str(contacts), "--policy", "fifo", "--no-text", "--json"], capsys)
    assert code == 0, err
    rows = {r["contact_id"]: r for r in json.loads(out)["decisions"]}
    assert isinstance(rows["c2"]["sla_deadline"], float)
    assert utc_text(rows["c2"]["sla_deadline"]) == "2026-12-01 09:02:00"
    assert rows["c1"]["sla_deadline"] == dt.datetime(2026, 11, 30, 9, 3, tzinfo=dt.UTC).timestamp()
    code, out, _ = run_cli(["policy", "decide", "--help"], capsys)
    assert code == 0 and "POSIX seconds" in " ".join(out.replace("│", " ").split())


def test_policy_decide_prints_the_first_rows_and_says_how_many_more(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A long file prints its first decisions and the count of the rest (a million rows are not a table to read);
    with --out the file has them all and nothing per row is printed."""
    contacts = _contacts(tmp_path, rows=SHOWN_ROWS + 5)
    code, out, err = run_cli(["policy", "decide", str(contacts), "--policy", "fifo", "--no-text"], capsys)
    assert code == 0, err
    assert f"the first {SHOWN_ROWS}" in out and "... and 5 more: --out FILE writes every decision" in out
    assert sum(bool(re.match(r"c\d+ ", line)) for line in out.splitlines()) == SHOWN_ROWS
    assert re.search(rf"^c{SHOWN_ROWS - 1} ", out, re.M) and not re.search(rf"^c{SHOWN_ROWS} ", out, re.M)
    target = tmp_path / "d.csv"
    code, out, err = run_cli(["policy", "decide", str(contacts), "--policy", "fifo", "--no-text", "--out",
                              str(target)], capsys)
    assert code == 0, err
    assert f"wrote {target}" in out and "SLA deadline" not in out
    assert len(pd.read_csv(target)) == SHOWN_ROWS + 5


# ---------------------------------------------------------------- scenario files: plain words per field

_GOOD = """name = "small"
[center]
agents = 2
duration = 60.0

[[segments]]
name = "callers"
arrival_rate = 1.0
handle_mean = 1.0

[[segments]]
name = "chatters"
channel = "chat"
arrival_rate = 1.0
handle_mean = 1.0
"""


def _refused(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str], name: str = "bad.toml") -> str:
    """Run ``simulate`` on a scenario file with ``text``; assert exit 2 and no traceback; return stderr."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    code, out, err = run_cli(["simulate", str(path), "-r", "1", "-j", "1"], capsys)
    assert code == 2, err
    assert out == "" and "Traceback" not in err and "internal error" not in err
    assert err.startswith(f"error: {path}: "), err  # the file as given, then the field (or "N problems:")
    assert "Input should" not in err and "Field required" not in err and "Extra inputs" not in err
    return err


def test_a_good_scenario_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The file the cases below break is itself fine (so each refusal is the one broken line's)."""
    path = tmp_path / "good.toml"
    path.write_text(_GOOD, encoding="utf-8")
    code, out, err = run_cli(["simulate", str(path), "-r", "1", "-j", "1", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["policies"]["fifo"]["arrivals"] > 0


@pytest.mark.parametrize(("old", "new", "message"), [
    # wrong type: a number, a whole number, true/false, text, a list, a table
    ("duration = 60.0", 'duration = "abc"', "center.duration: must be a number greater than 0, not 'abc'"),
    ("agents = 2", "agents = 2.5", "center.agents: must be a whole number of at least 1, not 2.5"),
    ('name = "callers"', 'name = "callers"\ncomplaint = "maybe"',
     "segments[0].complaint: must be true or false, not 'maybe'"),
    ('name = "small"', "name = 5", "name: must be text (in quotes), not 5"),
    ('name = "callers"', 'name = "callers"\nrate_profile = 3', "segments[0].rate_profile: must be a list of "
                                                                "numbers, not 3"),
    ('name = "callers"', 'name = "callers"\nrate_profile = [1, "x"]',
     "segments[0].rate_profile[1]: must be a number, not 'x'"),
    ('name = "small"', 'name = "small"\ntargets = 5', "targets: must be a table ([targets]) whose keys are "
                                                       "channels ('phone', 'email', 'chat' or 'social'), not 5"),
    ('name = "small"', 'name = "small"\nchurn = 0.1', "churn: must be a table ([churn]), not 0.1"),
    # out of range: greater than, at least, from-to, finite
    ("arrival_rate = 1.0\nhandle_mean = 1.0\n\n[[segments]]",
     "arrival_rate = -2\nhandle_mean = 1.0\n\n[[segments]]",
     "segments[0].arrival_rate: must be a number greater than 0, not -2"),
    ("agents = 2", "agents = 0", "center.agents: must be a whole number of at least 1, not 0"),
    ('name = "callers"', 'name = "callers"\nseverity = 7', "segments[0].severity: must be a whole number from 0 "
                                                           "to 3, not 7"),
    ('name = "callers"', 'name = "callers"\nretrial_prob = 1.5',
     "segments[0].retrial_prob: must be a number from 0 to 1, not 1.5"),
    ("duration = 60.0", "duration = nan", "center.duration: must be a finite number greater than 0, not nan"),
    ("duration = 60.0", "duration = 60.0\nwarmup = inf", "center.warmup: must be a finite number of at least 0, "
                                                         "not inf"),
    ('name = "callers"', 'name = "callers"\ntext_column = ""',
     "segments[0].text_column: must be text (in quotes) that is not empty, not ''"),
    # bad literal and enum values, a bad key of a table of channels
    ("duration = 60.0", 'duration = 60.0\ntime_unit = "day"',
     "center.time_unit: must be one of 'second', 'minute' or 'hour', not 'day'"),
    ('name = "callers"', 'name = "callers"\nhandle = "gamma"',
     "segments[0].handle: must be one of 'exponential', 'lognormal' or 'empirical', not 'gamma'"),
    ('name = "callers"', 'name = "callers"\ncustomers = "all"', "segments[0].customers: must be 'none' or "
                                                                 "'base', not 'all'"),
    ('channel = "chat"', 'channel = "fax"',
     "segments[1].channel: must be a channel ('phone', 'email', 'chat' or 'social'), not 'fax'"),
    ('name = "small"', 'name = "small"\n[targets.fax]\nwithin = 1',
     "targets.fax: the key must be a channel ('phone', 'email', 'chat' or 'social'), not 'fax'"),
    ('name = "small"', 'name = "small"\n[[pools]]\nname = "p"\nagents = 1\nchannels = "phone"',
     "pools[0].channels: must be a list of one or more channels ('phone', 'email', 'chat' or 'social'), "
     "not 'phone'"),
    ('name = "small"', 'name = "small"\n[[pools]]\nname = "p"\nagents = 1\nchannels = []',
     "pools[0].channels: must be a list of one or more channels ('phone', 'email', 'chat' or 'social'), not []"),
    # a value of two types (a number or a duration text): one message, not one per type
    ('name = "small"', 'name = "small"\n[targets.phone]\nwithin = "soon"',
     "targets.phone.within: must be a duration greater than 0 (a number in the scenario's time unit, or text "
     "such as '20s', '1.5m' or '2h'), not 'soon'"),
    ('name = "small"', 'name = "small"\n[targets.phone]\nwithin = [1]',
     "targets.phone.within: must be a duration greater than 0 (a number in the scenario's time unit, or text "
     "such as '20s', '1.5m' or '2h'), not [1]"),
    ('name = "small"', 'name = "small"\n[targets.phone]\nwithin = 0', "targets.phone.within: must be a duration "
                                                                      "greater than 0"),
    # missing keys and tables
    ("arrival_rate = 1.0\nhandle_mean = 1.0\n\n[[segments]]", "arrival_rate = 1.0\n\n[[segments]]",
     "segments[0].handle_mean: missing: it must be a number greater than 0"),
    ("[center]\nagents = 2\nduration = 60.0\n", "", "center: missing: the scenario needs a [center] table"),
    # extra keys: the close key, else the keys a small table takes
    ("arrival_rate = 1.0\nhandle_mean = 1.0\n\n[[segments]]",
     "arival_rate = 1.0\nhandle_mean = 1.0\n\n[[segments]]",
     "segments[0].arival_rate: 'arival_rate' is not a key of [[segments]]: did you mean 'arrival_rate'?"),
    ("agents = 2", "agents = 2\ncolour = 'red'", "center.colour: 'colour' is not a key of [center], which takes "
                                                 "agents, duration, warmup, time_unit and social_care_agents"),
    ('name = "callers"', 'name = "callers"\nfoo = 1', "segments[0].foo: 'foo' is not a key of [[segments]] (its "
                                                      "keys are listed in docs/scenario.md)"),
])
def test_each_kind_of_scenario_mistake_is_told_in_plain_words(old: str, new: str, message: str, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Pydantic's 'Input should be a valid number, unable to parse string as a number' became: the field's TOML
    path, what it must be (its type and bounds) and the value the file has."""
    assert old in _GOOD
    err = _refused(tmp_path, _GOOD.replace(old, new, 1), capsys)
    assert message in err, err


def test_a_scenario_without_segments_and_with_a_top_level_typo(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Missing and empty lists of tables, and an unknown top-level key, each name what the file needs."""
    head = _GOOD.split("[[segments]]")[0]
    err = _refused(tmp_path, head, capsys)
    assert "segments: missing: the scenario needs one or more [[segments]] tables" in err
    err = _refused(tmp_path, head.replace('name = "small"', 'name = "small"\nsegments = []'), capsys)
    assert "segments: must be one or more [[segments]] tables, not []" in err
    err = _refused(tmp_path, "colour = 1\n" + _GOOD, capsys)
    assert ("colour: 'colour' is not a key of a scenario, which takes name, center, pools, segments, targets and "
            "churn") in err


def test_every_mistake_of_a_file_is_told_at_once_each_on_its_own_line(tmp_path: Path) -> None:
    """Several broken fields: one line each, in the file's order, under one header naming the file and the count
    (as a policy file's: tests/test_validation_words.py)."""
    from fairserve.sim.scenario import ScenarioError, load_scenario

    text = _GOOD.replace("agents = 2", "agents = 0").replace('channel = "chat"', 'channel = "fax"')
    path = tmp_path / "two.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).splitlines() == [
        f"{path}: 2 problems:",
        "  center.agents: must be a whole number of at least 1, not 0",
        "  segments[1].channel: must be a channel ('phone', 'email', 'chat' or 'social'), not 'fax'",
    ]


def test_checks_of_more_than_one_field_keep_their_own_sentences(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The checks written for the scenario (not pydantic's) already say what is wrong; they pass through whole."""
    err = _refused(tmp_path, _GOOD.replace('name = "chatters"', 'name = "callers"'), capsys)
    assert err == f"error: {tmp_path / 'bad.toml'}: segment names must be unique, got ['callers', 'callers']"
    err = _refused(tmp_path, _GOOD.replace('name = "callers"', 'name = "callers"\nrate_profile = []'), capsys)
    assert "segments[0]: rate_profile must be a list of one or more multipliers of at least 0, not []" in err
    err = _refused(tmp_path, _GOOD.replace('name = "callers"', 'name = "callers"\nhandle = "empirical"'), capsys)
    assert "segments[0]: handle = 'empirical' needs handle_samples" in err
    assert "Value error" not in err


def test_the_docs_example_message_is_what_simulate_prints(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/scenario.md shows two-tiers.toml with its second segment's arrival_rate at 0: this is what simulate
    prints, one line naming the file as it was typed."""
    shipped = (files("fairserve.sim") / "scenarios" / "two-tiers.toml").read_text(encoding="utf-8")
    assert shipped.count("arrival_rate = 33.0") == 1
    assert shipped.index("arrival_rate = 33.0") > shipped.rindex("[[segments]]")  # the second segment's
    (tmp_path / "two-tiers.toml").write_text(shipped.replace("arrival_rate = 33.0", "arrival_rate = 0"),
                                             encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # a file of that name wins over the built-in scenario
    code, out, err = run_cli(["simulate", "two-tiers.toml", "-r", "1", "-j", "1"], capsys)
    docs = Path(__file__).parents[1] / "docs" / "scenario.md"
    shown = [line.strip() for line in docs.read_text(encoding="utf-8").splitlines()
             if line.startswith("    error: two-tiers.toml:")]
    assert shown == ["error: two-tiers.toml: segments[1].arrival_rate: must be a number greater than 0, not 0"]
    assert code == 2 and out == ""
    assert err == shown[0]


# ---------------------------------------------------------------- simulate NAME: the built-in scenarios


@pytest.mark.parametrize("name", ["nosuch.toml", "nosuch", "sub/nosuch.toml"])
def test_a_scenario_that_is_neither_a_file_nor_built_in_names_the_built_in_ones(
        name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["simulate", name, "-r", "1"], capsys)
    assert code == 2, err
    assert out == "" and "Traceback" not in err
    names = builtin_scenarios()
    assert {"demo-week", "scored-base", "two-tiers"} <= set(names)
    assert f"{name}: no such scenario file. The built-in scenarios are {', '.join(names[:-1])} and {names[-1]}: " \
           f"give one by name (`fairserve simulate {names[0]}`)" in err
    assert str(files("fairserve.sim") / "scenarios") in err.replace(" ", "")  # the folder, to copy one from


def test_a_misspelt_built_in_name_is_pointed_to_and_the_hint_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["whatif", "two_tiers", "--customer", "1", "--customers", "s.csv"], capsys)
    assert code == 2 and "two_tiers: no such scenario file. Did you mean two-tiers?" in err
    assert "`fairserve simulate two-tiers`" in err
    code, out, err = run_cli(["simulate", "two-tiers", "-r", "1", "-j", "1", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["replications"] == 1
