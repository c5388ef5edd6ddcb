"""Customer value: the RFM summary (DuckDB or Spark SQL), BG/NBD and Pareto/NBD, Gamma-Gamma, CLV, profit, loyalty.

The pipeline, as the ``fairserve value`` commands run it::

    summary = summarise("transactions.parquet", calibration_end=date(1997, 9, 30), period="week")
    model = fit_value_model(summary, "bgnbd")
    scores = score_customers(summary.customers, model, horizon_months=12)
"""

from __future__ import annotations

from fairserve.value._base import FitError, NotFittedError, import_optimizer_meanwhile
from fairserve.value.accounts import account_scores, attach_account_scores
from fairserve.value.bgnbd import BetaGeoModel, simulate_bgnbd
from fairserve.value.clv import discounted_clv
from fairserve.value.gammagamma import GammaGammaModel, InfiniteMeanSpendError
from fairserve.value.loyalty import DEFAULT_STATUS_LADDER, LOYALTY_WEIGHTS, loyalty_scores
from fairserve.value.paretonbd import ParetoNBDModel
from fairserve.value.profit import DEFAULT_CHANNEL_COST, DEFAULT_MARGIN, contact_rates, profit_scores
from fairserve.value.rfm import (
    RFMSpec,
    Summary,
    compressed_summary,
    rfm_summary,
    spark_session,
    summarise,
    summary_sql,
)
from fairserve.value.score import MODELS, ValueModel, fit_cautions, fit_value_model, score_customers

__all__ = [
    "DEFAULT_CHANNEL_COST",
    "DEFAULT_MARGIN",
    "DEFAULT_STATUS_LADDER",
    "LOYALTY_WEIGHTS",
    "MODELS",
    "BetaGeoModel",
    "FitError",
    "GammaGammaModel",
    "InfiniteMeanSpendError",
    "NotFittedError",
    "ParetoNBDModel",
    "RFMSpec",
    "Summary",
    "ValueModel",
    "account_scores",
    "attach_account_scores",
    "compressed_summary",
    "contact_rates",
    "discounted_clv",
    "fit_cautions",
    "fit_value_model",
    "import_optimizer_meanwhile",
    "loyalty_scores",
    "profit_scores",
    "rfm_summary",
    "score_customers",
    "simulate_bgnbd",
    "spark_session",
    "summarise",
    "summary_sql",
]
