"""Numbers people can read: deciles in order, money with separators and a currency, intervals in range."""

from __future__ import annotations

import math

from fairserve.report.fmt import clip_interval, interval, money, num, ordered, pct


def test_deciles_sort_by_number_not_text() -> None:
    assert ordered(["D1", "D10", "D2", "unknown", "D9"]) == ["D1", "D2", "D9", "D10", "unknown"]


def test_money_has_thousands_separators_and_the_chosen_currency() -> None:
    assert money(21950.4) == "$21,950"
    assert money(1234567.8, "€") == "€1,234,568"
    assert money(1234.0, "EUR") == "1,234 EUR"
    assert money(-80.2, "£") == "-£80"
    assert money(80.0, signed=True) == "+$80"
    assert money(math.nan) == "–"
    assert money(5.2) == "$5.20" and money(2.494, "EUR") == "2.49 EUR" and money(-0.5, "£") == "-£0.50"
    assert money(9.999) == "$10" and money(0.001) == "$0" and money(-0.004) == "$0" and money(7.0) == "$7"


def test_numbers_are_never_in_scientific_notation() -> None:
    assert num(21950.4) == "21,950" and "e" not in num(2.195e4)
    assert num(0.01234) == "0.0123"
    assert num(49400.0) == "49,400"
    assert pct(0.0512) == "5.1%"


def test_intervals_respect_the_quantitys_range() -> None:
    assert clip_interval(-724.0, 49400.0) == (0.0, 49400.0)  # a wait or an amount is never negative
    assert interval(-724.0, 49400.0) == "[0, 49,400]"
    assert interval(0.8, 1.07, pct, upper=1.0) == "[80.0%, 100.0%]"  # a share is at most 1
    assert interval(-0.5, 0.5, lower=None) == "[-0.500, 0.500]"  # a signed quantity keeps its sign
    assert interval(math.nan, math.nan) == ""
