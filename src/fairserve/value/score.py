"""The value pipeline: summary -> fitted models -> one scored row per customer.

:func:`fit_value_model` fits a transaction model (BG/NBD or Pareto/NBD) on the compressed RFM summary and the
Gamma-Gamma spend model on the repeat buyers; :class:`ValueModel` keeps both with the settings that produced them
(period, calibration end, column names) and round-trips through a plain dict (``MODEL.json``).
:func:`score_customers` turns the per-customer summary into the scores file the policy engine reads: RFM columns,
``p_alive``, expected purchases and spend, ``clv``, ``profit``, ``loyalty``, the facts behind them and
``value_percentile`` (the CLV percentile in [0, 1]).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd

from fairserve.errors import FairserveError, InputError, Problem
from fairserve.value._base import FitError
from fairserve.value.accounts import account_scores, attach_account_scores
from fairserve.value.bgnbd import BetaGeoModel
from fairserve.value.clv import discounted_clv
from fairserve.value.gammagamma import GammaGammaModel
from fairserve.value.loyalty import loyalty_scores
from fairserve.value.paretonbd import ParetoNBDModel
from fairserve.value.profit import profit_scores
from fairserve.value.rfm import RFMSpec, Summary
from fairserve.value.units import DAYS_PER_MONTH, PERIOD_DAYS, Period

__all__ = [
    "MODELS", "ValueModel", "fit_cautions", "fit_value_model", "score_customers", "score_rows", "value_percentile",
]

MODELS: Mapping[str, type[BetaGeoModel] | type[ParetoNBDModel]] = {
    "bgnbd": BetaGeoModel,
    "paretonbd": ParetoNBDModel,
}
_FORMAT = "fairserve.value/1"


@dataclass(slots=True)
class ValueModel:
    """A fitted transaction model and spend model, with the settings needed to score new data the same way.

    ``period`` is the time unit of the summary both were fitted on; the transaction model carries the same unit
    in days (its ``period_days``, filled in here when a record saved without it is read back), so that
    :func:`~fairserve.value.clv.discounted_clv` on the model alone converts months with the right period.
    """

    model: Literal["bgnbd", "paretonbd"]
    transaction: BetaGeoModel | ParetoNBDModel
    spend: GammaGammaModel
    period: Period
    calibration_end: dt.date
    columns: dict[str, str] = field(default_factory=dict)
    customers: int = 0

    def __post_init__(self) -> None:
        if self.period not in PERIOD_DAYS:
            raise FairserveError(f"period must be one of {', '.join(PERIOD_DAYS)}, not {self.period!r}")
        own = self.transaction.period_days
        if own is None:
            self.transaction.period_days = self.period_days
        elif own != self.period_days:
            raise FairserveError(
                f"the transaction model was fitted in periods of {own:g} days, but the value model's period is "
                f"{self.period!r} ({self.period_days:g} days)"
            )

    @property
    def period_days(self) -> float:
        """Days per model time unit."""
        return PERIOD_DAYS[self.period]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record: both models, the period, the calibration end and the column names."""
        return {
            "format": _FORMAT,
            "model": self.model,
            "transaction_model": self.transaction.to_dict(),
            "spend_model": self.spend.to_dict(),
            "period": self.period,
            "calibration_end": self.calibration_end.isoformat(),
            "columns": dict(self.columns),
            "customers": self.customers,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "<model>") -> ValueModel:
        """Rebuild from :meth:`to_dict` output; a wrong or incomplete record names what is wrong."""
        if d.get("format") != _FORMAT:
            raise FairserveError(f"{source}: not a fairserve value model (format {d.get('format')!r})")
        name = str(d.get("model"))
        if name not in MODELS:
            raise FairserveError(f"{source}: unknown model {name!r} (known: {', '.join(MODELS)})")
        try:
            calibration_end = dt.date.fromisoformat(str(d["calibration_end"]))
            return cls(
                model=name,  # type: ignore[arg-type]
                transaction=MODELS[name].from_dict(d["transaction_model"]),
                spend=GammaGammaModel.from_dict(d["spend_model"]),
                period=d["period"],
                calibration_end=calibration_end,
                columns=dict(d.get("columns", {})),
                customers=int(d.get("customers", 0)),
            )
        except (KeyError, ValueError) as exc:
            raise FairserveError(f"{source}: incomplete value model ({exc})") from exc

    def spec(self, **overrides: Any) -> RFMSpec:
        """The RFM settings this model was fitted with (calibration end, period, columns), with overrides."""
        base: dict[str, Any] = {
            "calibration_end": self.calibration_end,
            "period": self.period,
            **{f"{role}_col": col for role, col in self.columns.items()
               if role in ("customer", "date", "amount")},
        }
        base.update({k: v for k, v in overrides.items() if v is not None})
        return RFMSpec(**base)


def _calibration_end(summary: Summary) -> dt.date:
    if summary.spec.calibration_end is not None:
        return summary.spec.calibration_end
    return dt.date.fromisoformat(str(summary.info["max_date"])[:10])


def fit_value_model(summary: Summary, model: str = "bgnbd") -> ValueModel:
    """Fit the transaction model on the compressed summary and Gamma-Gamma on the repeat buyers.

    Raises
    ------
    InputError
        When no customer bought on two distinct days before the calibration end (nothing to fit).
    """
    if model not in MODELS:
        raise FairserveError(f"model must be one of {', '.join(MODELS)}, not {model!r}")
    comp = summary.compressed
    n_customers = int(summary.info.get("customers", len(summary.customers)))
    repeat = int(comp.loc[comp["frequency"] > 0, "weight"].sum())
    if repeat == 0:
        raise InputError([Problem(
            summary.source, None, summary.spec.customer_col,
            f"no repeat buyers: none of the {n_customers} customers bought on two distinct days "
            "up to the calibration end, so purchase and drop-out rates cannot be estimated",
        )])
    if summary.spend.empty:
        raise InputError([Problem(
            summary.source, None, summary.spec.amount_col,
            "no repeat buyer has a positive mean repeat spend, so the spend model cannot be fitted",
        )])
    def transaction_fit(penalizer: float) -> BetaGeoModel | ParetoNBDModel:
        return MODELS[model](period_days=summary.spec.period_days, penalizer=penalizer).fit(
            comp["frequency"], comp["recency"], comp["T"], weights=comp["weight"]
        )

    def spend_fit(penalizer: float) -> GammaGammaModel:
        return GammaGammaModel(penalizer=penalizer).fit(
            summary.spend["frequency"], summary.spend["monetary_value"], weights=summary.spend["weight"]
        )

    return ValueModel(
        model=model,  # type: ignore[arg-type]
        transaction=_predicting_fit(transaction_fit, lambda m: _transaction_fails(m, comp), comp, summary.source),
        spend=_predicting_fit(spend_fit, lambda m: _spend_fails(m, summary.spend), comp, summary.source),
        period=summary.spec.period,
        calibration_end=_calibration_end(summary),
        columns=dict(summary.spec.columns),
        customers=n_customers,
    )


_M = TypeVar("_M", BetaGeoModel, ParetoNBDModel, GammaGammaModel, BetaGeoModel | ParetoNBDModel)


def _predicting_fit(fit: Callable[[float], _M], fails: Callable[[_M], str | None], comp: pd.DataFrame,
                    source: str) -> _M:
    """The maximum-likelihood fit, or, when its model cannot predict for the customers it was fitted on, the
    first fit with an L2 penalty from :data:`PENALTIES` that can.

    Raises
    ------
    InputError
        When none can, naming the unpenalised fit's parameters, before any model or score is written.
    """
    first: tuple[str, str] | None = None
    for penalizer in PENALTIES:
        try:
            fitted = fit(penalizer)
        except FitError:
            if penalizer == 0.0:
                raise  # the maximum-likelihood fit's own refusal (q <= 1, ...) is the user's answer
            continue  # this penalty pushed the fit into a refused region: try the next
        what = fails(fitted)
        if what is None:
            return fitted
        if first is None:
            first = (what, ", ".join(f"{k}={v:.4g}" for k, v in fitted.params_.items()))
    assert first is not None
    raise InputError([Problem(
        source, None, None,
        f"the fit on {int(comp['weight'].sum()):,} customers landed at parameters where the {first[0]} cannot be "
        f"computed ({first[1]}), and so did the fits with an L2 penalty of {', '.join(map(str, PENALTIES[1:]))}: "
        f"the log is too small to fit (at least {SMALL_CUSTOMERS} customers and {SMALL_REPEAT_BUYERS} repeat "
        "buyers are advised)",
    )])


def _transaction_fails(tm: BetaGeoModel | ParetoNBDModel, comp: pd.DataFrame) -> str | None:
    """What the transaction model cannot compute for the (compressed) customers it was fitted on, or None."""
    f, r, t_cal = (comp[c].to_numpy(dtype=np.float64) for c in ("frequency", "recency", "T"))
    with np.errstate(all="ignore"):
        if not np.isfinite(tm.p_alive(f, r, t_cal)).all():
            return "p_alive"
        if not np.isfinite(tm.expected_purchases(1.0, f, r, t_cal)).all():
            return "expected purchases"
    return None


def _spend_fails(sm: GammaGammaModel, spend: pd.DataFrame) -> str | None:
    """What the spend model cannot compute for the repeat buyers it was fitted on, or None."""
    with np.errstate(all="ignore"):
        values = sm.conditional_expected_spend(spend["frequency"].to_numpy(dtype=np.float64),
                                               spend["monetary_value"].to_numpy(dtype=np.float64))
    return None if np.isfinite(values).all() else "expected spend"


# Below these counts a fit's parameters are weakly determined: BG/NBD and Pareto/NBD have four parameters and
# Gamma-Gamma three, and the papers' examples fit thousands of customers (CDNOW: 2,357). Not a refusal: a small
# shop may still want a rough ranking, but the user is told, and a fit that lands far from any sensible region
# is named.
SMALL_CUSTOMERS = 100
SMALL_REPEAT_BUYERS = 30
# L2 penalties on the parameters tried, in order, when a fit lands where its model cannot predict (a handful of
# customers can send BG/NBD to r ~ 1e7, the Poisson limit, where the hypergeometric series overflows). lifetimes
# calls it penalizer_coef and its documentation finds 0.001 to 0.1 effective for small data.
PENALTIES = (0.0, 0.001, 0.01, 0.1)
# Shape parameters (not the scale ones, alpha, beta and gamma, which follow the time and money units) outside this
# range mean a fit that ran off towards a boundary: CDNOW gives r=0.24, a=0.79, b=2.43, p=6.25, q=3.74.
_SHAPES = frozenset({"r", "a", "b", "s", "p", "q"})
_SHAPE_RANGE = (1e-3, 1e3)


def fit_cautions(summary: Summary, value_model: ValueModel) -> list[str]:
    """Plain warnings about a fit that rests on too few customers, for the user to read before trusting its CLV.

    Parameters
    ----------
    summary:
        The summary the model was fitted on.
    value_model:
        The fitted models.

    Returns
    -------
    list of str
        Empty when the log is large enough; otherwise one sentence per concern.
    """
    comp = summary.compressed
    n_customers = int(comp["weight"].sum())
    repeat = int(comp.loc[comp["frequency"] > 0, "weight"].sum())
    spenders = int(summary.spend["weight"].sum())
    out: list[str] = []
    for name, fitted in (("transaction model", value_model.transaction), ("spend model", value_model.spend)):
        if fitted.penalizer > 0:
            out.append(f"the {name}'s maximum-likelihood fit landed where it cannot predict, so it was fitted with "
                       f"an L2 penalty of {fitted.penalizer:g} on its parameters (lifetimes' penalizer_coef): they "
                       "are shrunk towards zero")
    if n_customers < SMALL_CUSTOMERS or repeat < SMALL_REPEAT_BUYERS:
        out.append(f"only {n_customers:,} customers, {repeat:,} of them repeat buyers: the {value_model.model} "
                   f"parameters are weakly determined (at least {SMALL_CUSTOMERS} customers and "
                   f"{SMALL_REPEAT_BUYERS} repeat buyers are advised); treat the CLV as a rough ranking")
    elif spenders < SMALL_REPEAT_BUYERS:
        out.append(f"only {spenders:,} repeat buyers with a positive spend: the Gamma-Gamma parameters are weakly "
                   "determined; treat the monetary part of the CLV as rough")
    for name, params in (("transaction model", value_model.transaction.params_),
                         ("spend model", value_model.spend.params_)):
        extreme = {k: v for k, v in params.items()
                   if k in _SHAPES and not _SHAPE_RANGE[0] <= v <= _SHAPE_RANGE[1]}
        if extreme:
            shown = ", ".join(f"{k}={v:.4g}" for k, v in extreme.items())
            out.append(f"the {name}'s fit reached extreme shape parameters ({shown}): the log does not pin them "
                       "down, and the CLV it gives cannot rank customers")
    return out


def value_percentile(clv: pd.Series) -> pd.Series:
    """The CLV percentile in (0, 1]: the share of customers whose CLV is at most this customer's.

    Ties share the highest rank (``rank(method="max", pct=True)``), so the top customer has 1 and two customers
    with one CLV have one percentile. The Spark path computes the same definition with the engine
    (:func:`fairserve.value.spark.exact_percentile`).

    Computed from one ``argsort`` (NumPy's vectorised sort) and the ends of the runs of equal values: the same
    numbers as pandas' ``rank``, which a test holds it to, in a fraction of its time on a million customers
    (the score stage of ``benchmarks/value_stages.py``). A column with a missing value is ranked by pandas (which
    leaves it missing).
    """
    values = clv.to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        return clv.rank(method="max", pct=True)
    n = values.shape[0]
    order = np.argsort(values)
    ordered = values[order]
    ends = np.flatnonzero(np.append(ordered[1:] != ordered[:-1], True))  # the last position of each run
    run = np.zeros(n, dtype=np.intp)
    np.cumsum(ordered[1:] != ordered[:-1], out=run[1:])  # each sorted position's run
    pct = np.empty(n, dtype=np.float64)
    pct[order] = (ends[run] + 1) / n
    return pd.Series(pct, index=clv.index, name=clv.name)


def _describe(value_model: ValueModel) -> str:
    params = {**value_model.transaction.params_, **value_model.spend.params_}
    return ", ".join(f"{k}={v:.4g}" for k, v in params.items())


def _refuse_non_finite(scores: pd.DataFrame, value_model: ValueModel) -> None:
    """Refuse to hand on scores the model could not compute (a fit on too few customers can land where the
    hypergeometric series of the expected purchases overflows): an empty CLV would pass for a customer's value.

    Raises
    ------
    FairserveError
        Naming the column, how many customers and the first of them, and the model's parameters.
    """
    for col in ("p_alive", "expected_purchases", "expected_spend", "clv"):
        bad = ~np.isfinite(scores[col].to_numpy(dtype=np.float64))
        if bad.any():
            first = scores["customer_id"].to_numpy()[np.flatnonzero(bad)[0]]
            raise FairserveError(
                f"the value model cannot compute '{col}' for {int(bad.sum()):,} of {len(scores):,} customers "
                f"(the first is '{first}') at its parameters ({_describe(value_model)}): it was fitted on too "
                f"few customers to predict from; fit it on a larger log (at least {SMALL_CUSTOMERS} customers and "
                f"{SMALL_REPEAT_BUYERS} repeat buyers are advised)"
            )


def score_rows(
    customers: pd.DataFrame,
    value_model: ValueModel,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    margin: float | None = None,
    contact_rates: pd.DataFrame | None = None,
    channel_cost: Mapping[str, float] | None = None,
    status_ladder: Sequence[str] | None = None,
    loyalty_weights: Mapping[str, float] | None = None,
    status_tiers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every score of :func:`score_customers` that depends on the customer's own row only (no value percentile,
    no account totals), so that any part of the base can be scored apart (a Spark batch) with the same result.

    ``status_tiers``: the status tiers the whole base uses, when ``customers`` is a part of it (a Spark batch),
    so that its loyalty places each tier on the whole base's ladder (:func:`fairserve.value.loyalty_scores`).
    """
    f = customers["frequency"].to_numpy(dtype=np.float64)
    r = customers["recency"].to_numpy(dtype=np.float64)
    t_cal = customers["T"].to_numpy(dtype=np.float64)
    m = customers["monetary_value"].to_numpy(dtype=np.float64)
    tm, sm = value_model.transaction, value_model.spend
    horizon = horizon_months * DAYS_PER_MONTH / value_model.period_days
    out = pd.DataFrame({
        "customer_id": customers["customer_id"].astype(str),
        "frequency": customers["frequency"],
        "recency": r,
        "T": t_cal,
        "monetary_value": m,
    }, index=customers.index)
    out["p_alive"] = tm.p_alive(f, r, t_cal)
    out["expected_purchases"] = tm.expected_purchases(horizon, f, r, t_cal)
    out["expected_spend"] = sm.conditional_expected_spend(f, m)
    out["clv"] = discounted_clv(
        tm, sm, f, r, t_cal, m,
        horizon_months=horizon_months, discount_rate=discount_rate,  # in the period the model was fitted in
    )
    _refuse_non_finite(out, value_model)
    if "margin" in customers:
        out["margin"] = customers["margin"]
    profit = profit_scores(
        out, margin=margin, rates=contact_rates, channel_cost=channel_cost, horizon_months=horizon_months,
        discount_rate=discount_rate,
    )
    out = out.drop(columns=[c for c in ("margin",) if c in out]).join(profit)
    loyalty = loyalty_scores(customers, weights=loyalty_weights, status_ladder=status_ladder,
                             status_in_use=status_tiers)
    out = out.join(loyalty)
    for col in ("status", "account", "first_purchase", "last_purchase"):
        if col in customers:
            out[col] = customers[col]
    return out


def score_customers(
    customers: pd.DataFrame,
    value_model: ValueModel,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    margin: float | None = None,
    contact_rates: pd.DataFrame | None = None,
    channel_cost: Mapping[str, float] | None = None,
    status_ladder: Sequence[str] | None = None,
    loyalty_weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Score every customer of a summary (:attr:`Summary.customers`) with a fitted :class:`ValueModel`.

    ``expected_purchases`` counts purchases in the next ``horizon_months`` months (of
    365.25 / 12 days, :data:`~fairserve.value.units.DAYS_PER_MONTH`); ``expected_spend`` is
    the Gamma-Gamma conditional mean spend per purchase; ``clv`` the discounted revenue over the horizon
    (:func:`fairserve.value.clv.discounted_clv`); ``profit`` and ``loyalty`` as in
    :mod:`fairserve.value.profit` and :mod:`fairserve.value.loyalty`; ``value_percentile`` as
    :func:`value_percentile`. With an ``account`` column, account totals are added (``account_clv``, ...;
    :mod:`fairserve.value.accounts`). The per-row part is :func:`score_rows`.
    """
    out = score_rows(customers, value_model, horizon_months=horizon_months, discount_rate=discount_rate,
                     margin=margin, contact_rates=contact_rates, channel_cost=channel_cost,
                     status_ladder=status_ladder, loyalty_weights=loyalty_weights)
    after = [c for c in ("status", "account", "first_purchase", "last_purchase") if c in out]
    at = out.columns.get_loc(after[0]) if after else len(out.columns)
    out.insert(int(at), "value_percentile", value_percentile(out["clv"]))  # type: ignore[arg-type]
    if "account" in out:
        out = attach_account_scores(out, account_scores(out))
    return out.reset_index(drop=True)
