"""Policy files are refused in the plain words scenario files are (``fairserve.validation_words``): the file, the
key's TOML path, what the value must be and the value the file has, every bad field at once, exit 2; the docs'
example message is what ``policy check`` prints. The scenario messages are held by tests/test_cli_review_round3.py.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, ValidationError

from cli_helpers import run_cli
from fairserve.policy import PolicyError, load_policy
from fairserve.validation_words import Wording, plain_errors

DOCS = Path(__file__).parents[1] / "docs" / "policy-file.md"


def _example() -> str:
    """The complete example of docs/policy-file.md (a valid policy: tests/policy/test_policy_file.py holds it)."""
    doc = DOCS.read_text(encoding="utf-8")
    return doc.split("## A complete example", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]


def _checked(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    """Run ``policy check`` on a file holding ``text``; assert exit 2, no traceback and none of pydantic's words."""
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    code, out, err = run_cli(["policy", "check", str(path)], capsys)
    assert code == 2, err
    assert "valid" not in out and "Traceback" not in err and "internal error" not in err
    for pydantic_words in ("Input should", "Field required", "Extra inputs", "after validation", "PerChannel",
                           "constrained-float"):
        assert pydantic_words not in err, err
    return path.resolve(), err


def test_the_docs_example_message_is_what_policy_check_prints(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/policy-file.md: the complete example with the second tier's phone SLA at -1, checked by name."""
    doc = DOCS.read_text(encoding="utf-8")
    example = _example()
    second = example.rindex("[[tiers]]")
    assert example[second:].count("phone = 3,") == 1
    broken = example[:second] + example[second:].replace("phone = 3,", "phone = -1,")
    (tmp_path / "my-policy.toml").write_text(broken, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["policy", "check", "my-policy.toml"], capsys)
    shown = doc.split("as a scenario's errors name theirs)\n\n", 1)[1].splitlines()[0].strip()
    assert shown == "error: my-policy.toml: tiers[1].sla.phone: must be a number greater than 0, not -1"
    assert code == 2 and out == ""
    assert err == shown


@pytest.mark.parametrize(("old", "new", "message"), [
    # wrong type and out of range, as a scenario's
    ("phone = 3,", "phone = -2,", "tiers[1].sla.phone: must be a number greater than 0, not -2"),
    ("phone = 1,", "phone = 'x',", "tiers[0].sla.phone: must be a number greater than 0, not 'x'"),
    ("loyalty_min = 0.5", "loyalty_min = 1.5", "tiers[0].when.loyalty_min: must be a number from 0 to 1, not 1.5"),
    ('version = "2024-06"', "version = 2024", "version: must be text (in quotes) of 1 to 40 characters, not 2024"),
    ("clv_min = 500, ", "status_in = [], ", "tiers[0].when.status_in: must be a list of one or more texts, not []"),
    ("when = { clv_min = 500, loyalty_min = 0.5 }", "when = 'clv >>> 3'",
     "tiers[0].when: must be a table ([tiers.when]), not 'clv >>> 3'"),
    ("slope = 0.1", "slope = 0.1\nmay_change_tier = 'maybe'",
     "influence.may_change_tier: must be true or false, not 'maybe'"),
    # a head start is a number or a table per channel: one message for both, or the table's own
    ("head_start = 0.3", "head_start = 'soon'", "tiers[0].head_start: must be a number of at least 0 or a table "
                                                "([tiers.head_start]), not 'soon'"),
    ("head_start = 0.3", "head_start = nan", "tiers[0].head_start: must be a finite number of at least 0 or a "
                                             "table ([tiers.head_start]), not nan"),
    ("head_start = 0.3", "head_start = { phone = -1 }", "tiers[0].head_start.phone: must be a number of at "
                                                        "least 0, not -1"),
    ("head_start = 0.3", "head_start = { fax = 1 }", "tiers[0].head_start.fax: 'fax' is not a key of "
                                                     "[tiers.head_start], which takes phone, email, chat and social"),
    # bad choices, missing keys, a list of a fixed length
    ('head_start_unit = "target"', 'head_start_unit = "hour"',
     "head_start_unit: must be 'minute' or 'target', not 'hour'"),
    ('route = "social-care"', 'route = "pr-team"', "risk.route: must be 'service' or 'social-care', not 'pr-team'"),
    ("chat = 5, social = 240", "social = 240", "tiers[1].sla.chat: missing: it must be a number greater than 0"),
    ("sla = { phone = 3, email = 1440, chat = 5, social = 240 }", "",
     "tiers[1].sla: missing: the [[tiers]] table needs a [tiers.sla] table"),
    ('name = "my-policy"', "", "name: missing: it must be text (in quotes) of 1 to 60 characters"),
    ("severity = [0, 0.1, 0.2, 0.4]", "severity = [0, 0.1, 0.2]", "need.severity[3]: missing: need.severity must "
                                                                  "be a list of 4 numbers of at least 0 or tables, "
                                                                  "not [0, 0.1, 0.2]"),
    # unknown keys: a renamed key's new name, the close key, the keys a small table takes
    ("head_start = 0.3", "head_start_min = 0.3", "tiers[0].head_start_min: 'head_start_min' is now 'head_start' (a "
                                                 "head start is in the policy's head_start_unit, minutes by default"),
    ("clv_min = 500", "clv_minimum = 500", "tiers[0].when.clv_minimum: 'clv_minimum' is not a key of "
                                           "[tiers.when]: did you mean 'clv_min'?"),
    ("head_start = 0.3", "head_start = 0.3\npriority = 1", "tiers[0].priority: 'priority' is not a key of "
                                                           "[[tiers]], which takes name, description, when, "
                                                           "head_start and sla"),
    ('name = "my-policy"', 'name = "my-policy"\ncolour = 1', "colour: 'colour' is not a key of a policy file (its "
                                                             "keys are listed in docs/policy-file.md)"),
])
def test_each_kind_of_policy_mistake_is_told_in_plain_words(old: str, new: str, message: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert _example().count(old) == 1
    path, err = _checked(tmp_path, _example().replace(old, new), capsys)
    assert f"error: {path}: {message}" in err, err


def test_a_list_of_tables_with_a_bad_item_is_told_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``tiers = [3]``: the item is not a table; pydantic's "at least 1 item after validation, not 0" is not told."""
    path, err = _checked(tmp_path, 'name = "x"\nversion = "1"\ntiers = [3]\n', capsys)
    assert err == f"error: {path}: tiers[0]: must be a table ([[tiers]]), not 3"


def test_every_bad_field_of_a_policy_is_told_at_once_each_on_its_own_line(tmp_path: Path) -> None:
    """Several bad fields: a header naming the file and the count, then one line each in the file's order; the
    first is the error's ``field`` and ``message``, all are in ``problems``."""
    text = (_example().replace("when = { clv_min = 500, loyalty_min = 0.5 }", "when = 'clv >>> 3'")
            .replace("head_start = 0.3", "head_start = { fax = 1 }").replace("phone = 3,", "phone = -1,"))
    path = tmp_path / "many.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    lines = [
        "tiers[0].when: must be a table ([tiers.when]), not 'clv >>> 3'",
        "tiers[0].head_start.fax: 'fax' is not a key of [tiers.head_start], which takes phone, email, chat and social",
        "tiers[1].sla.phone: must be a number greater than 0, not -1",
    ]
    assert str(caught.value).splitlines() == [f"{path.resolve()}: 3 problems:", *(f"  {line}" for line in lines)]
    assert caught.value.field == "tiers[0].when" and caught.value.message == lines[0].split(": ", 1)[1]
    assert [f"{f}: {m}" for f, m in caught.value.problems] == lines


def test_checks_across_fields_keep_their_own_sentences(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The policy's own checks (run once every field is valid) are told as before, in the same ``file: path:``
    form."""
    path, err = _checked(tmp_path, _example().replace('name = "standard"', 'name = "key"'), capsys)
    assert err == f"error: {path}: tiers[1].name: duplicate tier name 'key' (also tiers[0])"


def test_the_words_are_read_from_any_model() -> None:
    """Not only scenarios and policies: the words come from the model's types, bounds and keys."""

    class Part(BaseModel):
        model_config = ConfigDict(extra="forbid")
        size: int = Field(ge=1, le=9)
        kind: float | str = 1.0
        weight: StrictFloat | None = Field(default=None, gt=0)  # an optional strict number keeps its bounds

    class Order(BaseModel):
        model_config = ConfigDict(extra="forbid")
        parts: list[Part] = Field(min_length=1)
        rush: bool = False

    data = {"parts": [{"size": 12, "colour": 1, "kind": [1], "weight": True}], "rush": "maybe"}
    with pytest.raises(ValidationError) as caught:
        Order.model_validate(data)
    wording = Wording(Order, "order file", "docs/orders.md", renamed={"colour": "'kind'"})
    assert plain_errors(caught.value.errors(), wording) == [
        ("parts[0].size", "must be a whole number from 1 to 9, not 12"),
        ("parts[0].kind", "must be a number or text (in quotes), not [1]"),
        ("parts[0].weight", "must be a number greater than 0, not true"),
        ("parts[0].colour", "'colour' is now 'kind'"),
        ("rush", "must be true or false, not 'maybe'"),
    ]
    with pytest.raises(ValidationError) as caught:
        Order.model_validate({"rush": True})
    assert plain_errors(caught.value.errors(), wording) == [
        ("parts", "missing: the order file needs one or more [[parts]] tables")]


# ---------------------------------------------------------------- numbers and true/false are TOML's own

SHIPPED = {"scenario": ("fairserve.sim", "scenarios", "two-tiers.toml"),
           "policy": ("fairserve.policy", "policies", "balanced.toml")}


def _shipped_copy(tmp_path: Path, kind: str, old: str, new: str) -> Path:
    """A copy of a built-in file (two-tiers.toml, balanced.toml) with its one line ``old`` made ``new``."""
    package, folder, name = SHIPPED[kind]
    text = (files(package) / folder / name).read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = (tmp_path / f"my-{name}").resolve()
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def _refused(kind: str, path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """``simulate`` a scenario or ``policy check`` a policy; assert exit 2, nothing printed, no pydantic words."""
    argv = ["simulate", str(path), "-r", "1", "-j", "1"] if kind == "scenario" else ["policy", "check", str(path)]
    code, out, err = run_cli(argv, capsys)
    assert code == 2 and out == "", err
    assert "Traceback" not in err and "internal error" not in err
    for pydantic_words in ("Input should", "valid number", "valid boolean", "Field required", "Strict",
                           "float_type", "bool_type", "int_type"):
        assert pydantic_words not in err, err
    return err


@pytest.mark.parametrize(("kind", "old", "new", "message"), [
    # true where a number belongs was taken as 1; text holding a number as the number
    ("scenario", "agents = 50", "agents = true", "center.agents: must be a whole number of at least 1, not true"),
    ("scenario", "arrival_rate = 33.0", 'arrival_rate = "33"',
     "segments[1].arrival_rate: must be a number greater than 0, not '33'"),
    ("scenario", "clv = 2000.0", 'clv = "2000"', "segments[0].clv: must be a number, not '2000'"),
    ("scenario", "agents = 50", "agents = 50.0", "center.agents: must be a whole number of at least 1, not 50.0"),
    ("scenario", 'tier = "gold"', 'tier = "gold"\ncomplaint = "no"', "segments[0].complaint: must be true or "
                                                                       "false, not 'no'"),
    ("scenario", 'tier = "gold"', 'tier = "gold"\npublic = 0', "segments[0].public: must be true or false, not 0"),
    ("policy", "negative_below = -0.3", "negative_below = true",
     "need.negative_below: must be a number from -1 to 1, not true"),
    ("policy", "when = { clv_min = 100 }", 'when = { clv_min = "100" }',
     "tiers[0].when.clv_min: must be a number, not '100'"),
    ("policy", "threshold = 3.0", 'threshold = "3"', "risk.threshold: must be a number greater than 0, not '3'"),
    ("policy", "may_change_tier = false", 'may_change_tier = "no"',
     "influence.may_change_tier: must be true or false, not 'no'"),
    ("policy", "may_change_tier = false", "may_change_tier = 0",
     "influence.may_change_tier: must be true or false, not 0"),
    ("policy", 'else"\nhead_start = 0', 'else"\nhead_start = true',
     "tiers[2].head_start: must be a number of at least 0 or a table ([tiers.head_start]), not true"),
])
def test_a_number_or_true_false_must_be_the_toml_value_itself(kind: str, old: str, new: str, message: str,
                                                              tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """``agents = true`` simulated 1 agent and ``negative_below = true`` passed ``policy check``; text such as
    ``"100"`` was read as the number, ``"no"`` or ``0`` as false. Each is now refused by name, exit 2."""
    path = _shipped_copy(tmp_path, kind, old, new)
    assert _refused(kind, path, capsys) == f"error: {path}: {message}"


def test_text_is_still_taken_where_the_key_is_text_or_a_choice(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Strict numbers leave text alone where text is meant: a duration as a number or a text, a channel, a
    choice, a tier name, a policy's route and risk channels (balanced.toml's own)."""
    from fairserve.sim.scenario import load_scenario

    scenario = load_scenario(_shipped_copy(tmp_path, "scenario", "sla = 1.0", 'sla = 1.0\nchannel = "chat"\n'
                                           'handle = "lognormal"\n[targets.phone]\nwithin = "30s"\n'
                                           "[targets.chat]\nwithin = 2"))
    assert scenario.segments[1].channel == "chat" and scenario.segments[1].handle == "lognormal"
    assert scenario.target_within("phone") == 0.5 and scenario.target_within("chat") == 2.0
    policy = _shipped_copy(tmp_path, "policy", 'route = "social-care"', 'route = "social-care"')
    code, out, err = run_cli(["policy", "check", str(policy)], capsys)
    assert code == 0 and "valid" in out, err


def test_every_built_in_scenario_and_policy_still_loads() -> None:
    """The built-ins are files like a user's: none of them writes a number as text or true as 1."""
    from fairserve.policy import builtin_names
    from fairserve.sim.scenario import builtin_scenarios, load_scenario

    assert len(builtin_scenarios()) >= 3 and len(builtin_names()) >= 5
    for name in builtin_scenarios():
        assert load_scenario(name).segments
    for name in builtin_names():
        assert load_policy(name).spec.tiers


# ---------------------------------------------------------------- keys of the first format: each its own reason


@pytest.mark.parametrize(("old", "new", "says"), [
    ("head_start = 0.3", "head_start_min = 0.3", ("'head_start_min' is now 'head_start' (a head start is in the "
                                                  "policy's head_start_unit", "a table per channel")),
    ("slope = 0.1", "slope_min = 0.1", ("'slope_min' is now 'slope' (influence adds min(cap, slope x influence "
                                        "percentile)", "slope is a head start in the policy's head_start_unit")),
    ("cap = 0.1", "cap_min = 0.1", ("'cap_min' is now 'cap' (the most influence may add", "required when slope > "
                                                                                          "0")),
])
def test_each_renamed_key_is_told_its_own_new_name_and_reason(old: str, new: str, says: tuple[str, str],
                                                              tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """``slope_min`` was told the reason written for ``head_start_min`` ("a head start is in ..."): each old key
    now says what its new key is (docs/policy-file.md: head_start, slope, cap)."""
    assert _example().count(old) == 1
    _, err = _checked(tmp_path, _example().replace(old, new), capsys)
    assert all(words in err for words in says), err
    if new.startswith(("slope_min", "cap_min")):
        assert "a head start is in the policy's" not in err
    assert err.count(" is now ") == 1


# ---------------------------------------------------------------- scenarios and policies: one layout


def test_scenario_and_policy_errors_are_laid_out_alike(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One problem is one line ``FILE: path: words`` in both kinds of file (the scenario's was a header
    ``FILE: invalid scenario:`` and an indented line); several are ``FILE: N problems:`` and a line each."""
    from fairserve.sim.scenario import ScenarioError, load_scenario

    one = {kind: _shipped_copy(tmp_path, kind, old, new) for kind, old, new in (
        ("scenario", "agents = 50", "agents = 0"), ("policy", "threshold = 3.0", "threshold = -1"))}
    assert _refused("scenario", one["scenario"], capsys) == (
        f"error: {one['scenario']}: center.agents: must be a whole number of at least 1, not 0")
    assert _refused("policy", one["policy"], capsys) == (
        f"error: {one['policy']}: risk.threshold: must be a number greater than 0, not -1")
    scenario = _shipped_copy(tmp_path, "scenario", "warmup = 500.0", "warmup = true")
    scenario.write_text(scenario.read_text(encoding="utf-8").replace("agents = 50", "agents = 0"), encoding="utf-8")
    policy = _shipped_copy(tmp_path, "policy", "threshold = 3.0", "threshold = -1\nroute = 'pr'")
    policy.write_text(policy.read_text(encoding="utf-8").replace('route = "social-care"\n', ""), encoding="utf-8")
    with pytest.raises(ScenarioError) as scen_error:
        load_scenario(scenario)
    with pytest.raises(PolicyError) as pol_error:
        load_policy(policy)
    assert str(scen_error.value).splitlines() == [
        f"{scenario}: 2 problems:",
        "  center.agents: must be a whole number of at least 1, not 0",
        "  center.warmup: must be a number of at least 0, not true",
    ]
    assert str(pol_error.value).splitlines() == [
        f"{policy}: 2 problems:",
        "  risk.threshold: must be a number greater than 0, not -1",
        "  risk.route: must be 'service' or 'social-care', not 'pr'",
    ]
