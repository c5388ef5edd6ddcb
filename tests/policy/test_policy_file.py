"""Policy files: good ones load; bad ones give a PolicyError naming the file and the bad field."""

from __future__ import annotations

import copy
import importlib.resources
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairserve.errors import FairserveError
from fairserve.policy import Policy, PolicyError, builtin_names, load_policy
from fairserve.policy.schema import content_hash, parse_policy

GOOD = """
name = "mine"
version = "2"
[[tiers]]
name = "top"
when = { clv_min = 100 }
head_start = 10
sla = { phone = 1, email = 60, chat = 2, social = 30 }
[[tiers]]
name = "rest"
sla = { phone = 2, email = 120, chat = 4, social = 60 }
"""


def _builtin_data(name: str) -> dict[str, Any]:
    text = importlib.resources.files("fairserve.policy").joinpath("policies", f"{name}.toml").read_text()
    return tomllib.loads(text)


def test_every_builtin_policy_loads_and_has_a_stable_hash() -> None:
    for name in builtin_names():
        policy = load_policy(name)
        assert policy.name == name
        assert len(policy.content_hash) == 64
        assert content_hash(parse_policy(_builtin_data(name))) == policy.content_hash


def test_a_user_file_loads_and_layout_does_not_change_the_hash(tmp_path: Path) -> None:
    a = tmp_path / "a.toml"
    a.write_text(GOOD)
    b = tmp_path / "b.toml"
    b.write_text("# a comment\n" + GOOD.replace('name = "mine"\nversion = "2"', 'version = "2"  # why\nname = "mine"'))
    pa, pb = load_policy(a), load_policy(b)
    assert pa.tier_names == ["top", "rest"]
    assert pa.content_hash == pb.content_hash
    assert pa.max_head_start_min == 10.0 and pa.influence_cap_min == 0.0


BAD: list[tuple[str, str, str]] = [
    ("unknown top-level key", "colour = 'red'\n" + GOOD, "colour"),
    ("unknown tier key", GOOD.replace("head_start = 10", "head_start = 10\npriority = 1"), "tiers[0].priority"),
    ("unknown condition", GOOD.replace("clv_min = 100", "clv_minimum = 100"), "tiers[0].when.clv_minimum"),
    ("missing sla channel", GOOD.replace("chat = 4, ", ""), "tiers[1].sla.chat"),
    ("negative sla", GOOD.replace("phone = 2,", "phone = -2,"), "tiers[1].sla.phone"),
    ("zero sla", GOOD.replace("phone = 1,", "phone = 0,"), "tiers[0].sla.phone"),
    ("negative head start", GOOD.replace("head_start = 10", "head_start = -1"), "tiers[0].head_start"),
    ("text head start", GOOD.replace("head_start = 10", "head_start = 'soon'"), "tiers[0].head_start"),
    ("nan head start", GOOD.replace("head_start = 10", "head_start = nan"), "tiers[0].head_start"),
    ("infinite head start", GOOD.replace("head_start = 10", "head_start = inf"), "tiers[0].head_start"),
    ("no name", GOOD.replace('name = "mine"', ""), "name"),
    ("number version", GOOD.replace('version = "2"', "version = 2"), "version"),
    ("no tiers", 'name = "x"\nversion = "1"\ntiers = []\n', "tiers"),
    ("duplicate tier", GOOD.replace('name = "rest"', 'name = "top"'), "tiers[1].name"),
    ("loyalty above 1", GOOD.replace("clv_min = 100", "loyalty_min = 1.5"), "tiers[0].when.loyalty_min"),
    ("influence tier without leave", GOOD.replace("clv_min = 100", "influence_min = 0.9"),
     "tiers[0].when.influence_min"),
    ("severity list too short", GOOD + "\n[need]\nseverity = [0, 1, 2]\n", "need.severity[3]"),
    ("severity level text", GOOD + "\n[need]\nseverity = [0, 1, 'x', 3]\n", "need.severity[2]"),
    ("uncapped influence", GOOD + "\n[influence]\nslope = 5\n", "influence.cap"),
    ("strict with influence tiers", GOOD.replace('version = "2"', 'version = "2"\nstrict = true')
     + "\n[influence]\nmay_change_tier = true\n", "influence.may_change_tier"),
    ("social-care without sla", GOOD + "\n[risk]\nroute = 'social-care'\n", "risk.sla"),
    ("unknown route", GOOD + "\n[risk]\nroute = 'pr-team'\n", "risk.route"),
    ("unknown risk channel", GOOD + "\n[risk]\nchannels = ['fax']\n", "risk.channels[0]"),
    ("uncapped repeat", GOOD + "\n[need]\nrepeat_each = 2\n", "need.repeat_max"),
    ("empty status list", GOOD.replace("clv_min = 100", "status_in = []"), "tiers[0].when.status_in"),
    ("tier is not a table", 'name = "x"\nversion = "1"\ntiers = [3]\n', "tiers[0]"),
]


@pytest.mark.parametrize(("label", "text", "field"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_policy_file_names_the_field(tmp_path: Path, label: str, text: str, field: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.field == field, label
    assert info.value.file == str(path)
    assert str(path) in str(info.value) and field in str(info.value)
    assert isinstance(info.value, FairserveError) and info.value.exit_code == 2


def test_broken_toml_and_missing_files_are_policy_errors(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("name = \n")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(path)
    with pytest.raises(PolicyError, match="no such policy file"):
        load_policy(tmp_path / "absent.toml")


def _leaves(data: Any, path: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if isinstance(data, dict):
        for k, v in data.items():
            out += _leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(data, list) and data and isinstance(data[0], dict):
        for i, v in enumerate(data):
            out += _leaves(v, f"{path}[{i}]")
    else:
        out.append((path, data))
    return out


def _tables(data: Any, path: str = "") -> list[str]:
    out = [path] if isinstance(data, dict) else []
    if isinstance(data, dict):
        for k, v in data.items():
            out += _tables(v, f"{path}.{k}" if path else k)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            if isinstance(v, dict):
                out += _tables(v, f"{path}[{i}]")
    return out


def _get(data: Any, path: str) -> Any:
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        data = data[int(part[1:-1])] if part.startswith("[") else data[part]
    return data


def _parent_and_key(path: str) -> tuple[str, str]:
    head, _, key = path.rpartition(".")
    return head, key


WRONG_FOR = {bool: "maybe", str: 17, float: "fast", int: "fast", list: "x"}


@settings(max_examples=300, deadline=None)
@given(data=st.data(), name=st.sampled_from(builtin_names()))
def test_mutated_builtin_policies_give_an_error_naming_the_mutated_field(data: st.DataObject, name: str) -> None:
    doc = copy.deepcopy(_builtin_data(name))
    kind = data.draw(st.sampled_from(["unknown", "wrong-type", "delete-required"]))
    if kind == "unknown":
        # allocation.status maps status names, which are the company's own: any key there is a valid status
        table = data.draw(st.sampled_from([t for t in _tables(doc) if t != "allocation.status"]))
        key = data.draw(st.from_regex(r"\A[a-z]{3,10}_x\Z"))
        _get(doc, table)[key] = 1
        expected = f"{table}.{key}" if table else key
    elif kind == "wrong-type":
        leaves = [(p, v) for p, v in _leaves(doc) if p not in ("description",) and not p.endswith("description")]
        path, value = data.draw(st.sampled_from(leaves))
        parent, key = _parent_and_key(path)
        wrong = WRONG_FOR[type(value)]
        _get(doc, parent)[key] = wrong
        expected = path
    else:
        required = ["name", "version"] + [
            f"tiers[{i}].{k}" for i in range(len(doc["tiers"])) for k in ("name", "sla", "sla.phone", "sla.social")
        ]
        path = data.draw(st.sampled_from(required))
        parent, key = _parent_and_key(path)
        del (_get(doc, parent) if parent else doc)[key]
        expected = path
    with pytest.raises(PolicyError) as info:
        parse_policy(doc, "mutant.toml")
    assert info.value.file == "mutant.toml"
    assert info.value.field is not None
    assert info.value.field == expected or info.value.field.startswith(expected + "["), (kind, expected)


def test_an_edited_file_is_reloaded_and_rehashed(tmp_path: Path) -> None:
    import os

    path = tmp_path / "p.toml"
    path.write_text(GOOD)
    first = load_policy(path)
    assert load_policy(path) is first  # compiled once, cached
    path.write_text(GOOD.replace("head_start = 10", "head_start = 12"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    second = load_policy(path)
    assert second.max_head_start_min == 12.0
    assert second.content_hash != first.content_hash


def test_a_first_format_key_is_refused_with_its_new_name() -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(tomllib.loads(GOOD.replace("head_start = 10", "head_start_min = 10")), "old.toml")
    assert err.value.field == "tiers[0].head_start_min"
    assert "is now 'head_start'" in err.value.message


@pytest.mark.parametrize(
    ("case", "text", "field"),
    [
        ("per-channel negative", GOOD.replace("start = 10", "start = { phone = -1 }"), "tiers[0].head_start.phone"),
        ("per-channel unknown channel", GOOD.replace("start = 10", "start = { fax = 1 }"), "tiers[0].head_start.fax"),
        ("target unit without targets", 'head_start_unit = "target"\n' + GOOD, "channels.phone.target"),
        ("zero guarantee", GOOD + "\n[channels]\nphone = { guarantee = 0 }\n", "channels.phone.guarantee"),
        ("unknown unit", 'head_start_unit = "hour"\n' + GOOD, "head_start_unit"),
    ],
)
def test_per_channel_and_target_head_starts_are_validated(case: str, text: str, field: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(tomllib.loads(text), "p.toml")
    assert err.value.field == field, case


def test_a_head_start_in_targets_means_each_channels_own_minutes() -> None:
    text = 'head_start_unit = "target"\n' + GOOD + (
        "\n[channels]\nphone = { target = 0.5 }\nemail = { target = 240 }\nchat = { target = 1 }\n"
        "social = { target = 30 }\n"
    )
    policy = Policy(parse_policy(tomllib.loads(text), "t.toml"))
    assert policy.max_head_start_by_channel() == {"phone": 5.0, "email": 2400.0, "chat": 10.0, "social": 300.0}


def test_the_complete_example_in_the_policy_file_reference_is_valid() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "policy-file.md").read_text()
    example = doc.split("## A complete example", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    policy = Policy(parse_policy(tomllib.loads(example), "docs/policy-file.md"))
    assert policy.name == "my-policy" and policy.guarantee_min("phone") == 3.0
    assert policy.max_head_start_by_channel()["phone"] == pytest.approx(2 * (0.3 + 0.4 + 0.1 + 0.1 + 0.1))


def test_a_condition_written_as_text_is_told_it_must_be_a_table(tmp_path: Path) -> None:
    """``when = "clv >>> 3"`` got pydantic's "valid dictionary or instance of Conditions" (new-user review)."""
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\nversion = "1"\n[[tiers]]\nname = "a"\nwhen = "clv >>> 3"\n[[tiers]]\nname = "b"\n')
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.field == "tiers[0].when"
    assert "tiers[0].when: must be a table ([tiers.when]), not 'clv >>> 3'" in str(info.value)
    assert "Conditions" not in str(info.value) and "dictionary" not in str(info.value)
