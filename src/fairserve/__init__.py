"""fairserve: decide which customer is served first, and why.

The public API is declared once, here, in ``__all__``; ``tests/test_public_api.py`` keeps it honest.
"""

from __future__ import annotations

import os

# Threaded OpenBLAS makes scipy's L-BFGS-B several times slower on small problems (scipy issues 22438 and 23191).
# Set it before numpy is first imported, unless the user chose a value.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from fairserve.errors import FairserveError, InputError, Problem
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

__version__ = "0.1.0"

__all__ = [
    "Channel",
    "Contact",
    "Customer",
    "Decision",
    "FairserveError",
    "InputError",
    "Problem",
    "QueueKey",
    "Reason",
    "SocialProfile",
    "Transaction",
    "__version__",
    "to_seconds",
]
