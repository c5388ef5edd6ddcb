"""fairserve: decide which customer is served first, and why.

The public API is declared once, here, in ``__all__``; ``tests/test_public_api.py`` keeps it honest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fairserve.errors import FairserveError, InputError, Problem

if TYPE_CHECKING:
    from fairserve.influence import influence_percentiles, reach_score, synthetic_followers
    from fairserve.io import (
        Loaded,
        read_contacts,
        read_customers,
        read_social_profiles,
        read_transactions,
        validate_frame,
    )
    from fairserve.model import (
        Channel,
        Contact,
        Customer,
        Decision,
        QueueKey,
        Reason,
        SocialProfile,
        Transaction,
        to_seconds,
    )
    from fairserve.policy import Policy, PolicyError, builtin_names, decide, decide_batch, load_policy
    from fairserve.sim import (
        Scenario,
        ScenarioError,
        agents_needed,
        compare_policies,
        erlang_a,
        erlang_c,
        load_scenario,
        staffing,
        whatif,
    )
    from fairserve.value import (
        BetaGeoModel,
        GammaGammaModel,
        NotFittedError,
        ParetoNBDModel,
        discounted_clv,
        fit_value_model,
        score_customers,
        summarise,
    )

# Every name but the errors loads on first use (PEP 562 module __getattr__): a command that only lists policies
# should not pay for pandas, SciPy or the simulator's numba (about a second together), and scoring customers
# should not pay for numba. ``import fairserve`` itself costs a few milliseconds.
_LAZY: dict[str, str] = {
    **dict.fromkeys(("influence_percentiles", "reach_score", "synthetic_followers"), "fairserve.influence"),
    **dict.fromkeys(("Loaded", "read_contacts", "read_customers", "read_social_profiles", "read_transactions",
                     "validate_frame"), "fairserve.io"),
    **dict.fromkeys(("Channel", "Contact", "Customer", "Decision", "QueueKey", "Reason", "SocialProfile",
                     "Transaction", "to_seconds"), "fairserve.model"),
    **dict.fromkeys(("Policy", "PolicyError", "builtin_names", "decide", "decide_batch", "load_policy"),
                    "fairserve.policy"),
    **dict.fromkeys(("Scenario", "ScenarioError", "agents_needed", "compare_policies", "erlang_a", "erlang_c",
                     "load_scenario", "staffing", "whatif"), "fairserve.sim"),
    **dict.fromkeys(("BetaGeoModel", "GammaGammaModel", "NotFittedError", "ParetoNBDModel", "discounted_clv",
                     "fit_value_model", "score_customers", "summarise"), "fairserve.value"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fairserve' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__version__ = "0.1.0"

__all__ = [
    "BetaGeoModel",
    "Channel",
    "Contact",
    "Customer",
    "Decision",
    "FairserveError",
    "GammaGammaModel",
    "InputError",
    "Loaded",
    "NotFittedError",
    "ParetoNBDModel",
    "Policy",
    "PolicyError",
    "Problem",
    "QueueKey",
    "Reason",
    "Scenario",
    "ScenarioError",
    "SocialProfile",
    "Transaction",
    "__version__",
    "agents_needed",
    "builtin_names",
    "compare_policies",
    "decide",
    "decide_batch",
    "discounted_clv",
    "erlang_a",
    "erlang_c",
    "fit_value_model",
    "influence_percentiles",
    "load_policy",
    "load_scenario",
    "reach_score",
    "read_contacts",
    "read_customers",
    "read_social_profiles",
    "read_transactions",
    "score_customers",
    "staffing",
    "summarise",
    "synthetic_followers",
    "to_seconds",
    "validate_frame",
    "whatif",
]
