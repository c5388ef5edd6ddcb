"""fairserve: decide which customer is served first, and why.

The public API is declared once, here, in ``__all__``; ``tests/test_public_api.py`` keeps it honest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fairserve.errors import FairserveError, InputError, Problem
from fairserve.influence import influence_percentiles, reach_score, synthetic_followers
from fairserve.io import Loaded, read_contacts, read_customers, read_social_profiles, read_transactions, validate_frame
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

if TYPE_CHECKING:
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

# The simulator's names load on first use: fairserve.sim imports numba, which costs about a second and 50 MiB
# that scoring customers or deciding a contact should not pay (PEP 562 module __getattr__).
_LAZY = {
    name: "fairserve.sim"
    for name in (
        "Scenario",
        "ScenarioError",
        "agents_needed",
        "compare_policies",
        "erlang_a",
        "erlang_c",
        "load_scenario",
        "staffing",
        "whatif",
    )
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fairserve' has no attribute {name!r}")


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
