"""The verdict is computed from the numbers: each figure it states is the comparison's, in the right direction."""

from __future__ import annotations

import copy
from typing import Any

from fairserve.report.fmt import money, num, pct
from fairserve.report.verdict import answer, contrast, verdict


def test_the_answer_states_the_comparisons_own_numbers(comparison: dict[str, Any]) -> None:
    result = comparison["result"]
    c = contrast(result, "influence-first")
    assert c["baseline"] == "fifo"
    top = result["policies"]["influence-first"]["value_deciles"]["D10"]
    base = result["policies"]["fifo"]["value_deciles"]["D10"]
    assert c["top_value_wait"] == top["mean_wait"] and c["top_value_wait_baseline"] == base["mean_wait"]
    assert c["top_value_wait_change"] == top["mean_wait"] / base["mean_wait"] - 1
    text = answer(c, "€")
    assert f"{num(top['mean_wait'])} against {num(base['mean_wait'])} minutes" in text
    assert f"{pct(top['abandon_rate'])} against {pct(base['abandon_rate'])}" in text
    rar = result["policies"]["influence-first"]["all"]["all"]["revenue_at_risk"]
    assert f"to {money(rar, '€')}" in text
    assert f"{abs(c['top_value_wait_change']):.0%} {'longer' if c['top_value_wait_change'] > 0 else 'less'}" in text


def test_the_words_follow_the_direction_of_the_numbers(comparison: dict[str, Any]) -> None:
    result = copy.deepcopy(comparison["result"])
    fifo = result["policies"]["fifo"]
    other = result["policies"]["value-first"]
    fifo["value_deciles"]["D10"]["mean_wait"] = 2.0
    other["value_deciles"]["D10"]["mean_wait"] = 3.0
    fifo["value_deciles"]["D10"]["abandon_rate"] = 0.10
    other["value_deciles"]["D10"]["abandon_rate"] = 0.05
    fifo["all"]["all"]["revenue_at_risk"] = 1000.0
    other["all"]["all"]["revenue_at_risk"] = 2500.0
    text = answer(contrast(result, "value-first"))
    assert "wait 50% longer (3.00 against 2.00 minutes" in text
    assert "abandon 50% less (5.0% against 10.0%)" in text
    assert "revenue at risk rises by $1,500 (to $2,500 from $1,000)" in text
    other["all"]["all"]["revenue_at_risk"] = 400.0
    assert "revenue at risk falls by $600" in answer(contrast(result, "value-first"))


def test_the_verdict_names_the_run_and_every_policy(comparison: dict[str, Any]) -> None:
    result = comparison["result"]
    said = verdict(result)
    assert said["text"].startswith("Over 3 simulated runs of scenario small (seed 0)")
    assert result["targets_text"] in said["text"]
    assert set(said["contrasts"]) == {"value-first", "influence-first"}
    for name in said["contrasts"]:
        assert f"Under {name}," in said["text"]
    rar = {n: e["all"]["all"]["revenue_at_risk"] for n, e in result["policies"].items()}
    assert said["least_revenue_at_risk"] == min(rar, key=rar.__getitem__)
