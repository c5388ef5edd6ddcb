"""fairserve: decide which customer is served first, and why.

The public API is declared once, here, in ``__all__``; ``tests/test_public_api.py`` keeps it honest.
"""

from __future__ import annotations

import os

# Threaded OpenBLAS makes scipy's L-BFGS-B several times slower on small problems (scipy issues 22438 and 23191).
# Set it before numpy is first imported, unless the user chose a value.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

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
