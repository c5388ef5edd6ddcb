"""Policy files are refused in the plain words scenario files are (``fairserve.validation_words``): the file, the
key's TOML path, what the value must be and the value the file has, every bad field at once, exit 2; the docs'
example message is what ``policy check`` prints. The scenario messages are held by tests/test_cli_review_round3.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
    shown = doc.split("prints (the file by its full path)\n\n", 1)[1].splitlines()[0].strip()
    assert shown == "error: /home/me/my-policy.toml: tiers[1].sla.phone: must be a number greater than 0, not -1"
    assert code == 2 and out == ""
    assert err == shown.replace("/home/me/my-policy.toml", str((tmp_path / "my-policy.toml").resolve()))


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

    class Order(BaseModel):
        model_config = ConfigDict(extra="forbid")
        parts: list[Part] = Field(min_length=1)
        rush: bool = False

    data = {"parts": [{"size": 12, "colour": 1, "kind": [1]}], "rush": "maybe"}
    with pytest.raises(ValidationError) as caught:
        Order.model_validate(data)
    wording = Wording(Order, "order file", "docs/orders.md", renamed={"colour": "'kind'"})
    assert plain_errors(caught.value.errors(), wording) == [
        ("parts[0].size", "must be a whole number from 1 to 9, not 12"),
        ("parts[0].kind", "must be a number or text (in quotes), not [1]"),
        ("parts[0].colour", "'colour' is now 'kind'"),
        ("rush", "must be true or false, not 'maybe'"),
    ]
    with pytest.raises(ValidationError) as caught:
        Order.model_validate({"rush": True})
    assert plain_errors(caught.value.errors(), wording) == [
        ("parts", "missing: the order file needs one or more [[parts]] tables")]
