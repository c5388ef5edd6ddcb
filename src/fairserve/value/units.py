"""Time units of the value models, defined once: the length in days of a model period, a month and a year.

A transaction model (BG/NBD, Pareto/NBD) measures ``recency`` and ``T`` in the period of the RFM summary it was
fitted on (:class:`fairserve.value.rfm.RFMSpec`, ``period``); its predictions for a horizon given in days must be
converted with the same length. The summary's SQL, the fitted :class:`fairserve.value.score.ValueModel` and
:func:`fairserve.value.clv.discounted_clv` all read it from here.

A month is the same length wherever fairserve counts in months: the CLV and cost-to-serve horizons
(:mod:`fairserve.value.clv`, :mod:`fairserve.value.profit`) and the span of a contact history.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

__all__ = ["DAYS_PER_MONTH", "DAYS_PER_YEAR", "PERIOD_DAYS", "Period"]

Period = Literal["day", "week"]
# A week is days / 7: purchases are not merged by week, as in Fader, Hardie & Lee (2005).
PERIOD_DAYS: Mapping[str, float] = MappingProxyType({"day": 1.0, "week": 7.0})
# The mean Julian year, as astropy's and pandas' year; within 0.0007 days of the mean Gregorian year (365.2425).
DAYS_PER_YEAR = 365.25
# The mean calendar month, 365.25 / 12 = 30.4375 days: twelve months make exactly one year, so a 12-month horizon
# is the year of the tenure and the contact rates, and no calendar month is systematically over- or under-counted
# (a 30-day month makes a year 5.25 days short). lifetimes' CLV counts a month as 30 days; tests/value/test_clv.py
# matches it by giving the period length instead.
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
