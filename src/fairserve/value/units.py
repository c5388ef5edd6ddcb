"""Time units of the value models, defined once: the length in days of a model period.

A transaction model (BG/NBD, Pareto/NBD) measures ``recency`` and ``T`` in the period of the RFM summary it was
fitted on (:class:`fairserve.value.rfm.RFMSpec`, ``period``); its predictions for a horizon given in days must be
converted with the same length. The summary's SQL, the fitted :class:`fairserve.value.score.ValueModel` and
:func:`fairserve.value.clv.discounted_clv` all read it from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

__all__ = ["PERIOD_DAYS", "Period"]

Period = Literal["day", "week"]
# A week is days / 7: purchases are not merged by week, as in Fader, Hardie & Lee (2005).
PERIOD_DAYS: Mapping[str, float] = MappingProxyType({"day": 1.0, "week": 7.0})
