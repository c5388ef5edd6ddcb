"""Real data sets: the CDNOW purchase logs.

The CDNOW logs (Fader & Hardie) ship inside the PyPI package ``lifetimes`` (folder ``lifetimes/datasets/``). We
read the files straight from the installed distribution without importing ``lifetimes``: the package is archived
and its ``datasets`` module breaks on setuptools >= 82. We never commit the data; see ``docs/data.md``.

* ``CDNOW_master.txt``: 23,570 customers, 69,659 transactions, 1997-01-01 to 1998-06-30. Columns: customer id,
  date (YYYYMMDD), number of CDs, dollar value.
* ``CDNOW_sample.txt``: a 1/10th systematic sample, 2,357 customers, 6,919 transactions. Columns: master id,
  sample id, date, number of CDs, dollar value. The papers use the sample id.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pandas as pd

from fairserve.errors import FairserveError

__all__ = ["cdnow_master", "cdnow_sample", "dataset_path"]

_DIST = "lifetimes"


def dataset_path(name: str) -> Path:
    """Return the path of data file ``name`` inside the installed ``lifetimes`` distribution.

    Raises
    ------
    FairserveError
        When ``lifetimes`` is not installed (``pip install 'fairserve[demo]'``) or lacks the file.
    """
    try:
        dist = importlib.metadata.distribution(_DIST)
    except importlib.metadata.PackageNotFoundError as exc:
        raise FairserveError(
            f"the CDNOW data ships in the '{_DIST}' package, which is not installed: "
            "pip install 'fairserve[demo]'"
        ) from exc
    for file in dist.files or ():
        if file.parts[-2:] == ("datasets", name):
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
    raise FairserveError(f"'{name}' not found in the installed '{_DIST}' package")


def _read(path: Path, names: list[str], skip_header: bool) -> pd.DataFrame:
    frame = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=names,
        skiprows=1 if skip_header else 0,
        dtype=str,
        engine="c",
    )
    out = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype(str),
            "date": pd.to_datetime(frame["date"], format="%Y%m%d"),
            "quantity": frame["quantity"].astype("int64"),
            "amount": frame["amount"].astype("float64"),
        }
    )
    return out


def cdnow_master() -> pd.DataFrame:
    """The full CDNOW log: columns ``customer_id`` (str, zero-padded), ``date``, ``quantity``, ``amount``."""
    return _read(dataset_path("CDNOW_master.txt"), ["customer_id", "date", "quantity", "amount"], True)


def cdnow_sample() -> pd.DataFrame:
    """The CDNOW 1/10th sample, keyed by the sample id the papers use (``"0001"`` to ``"2357"``)."""
    path = dataset_path("CDNOW_sample.txt")
    frame = _read(path, ["master_id", "customer_id", "date", "quantity", "amount"], False)
    return frame


def synthetic_claimants(customer_ids: pd.Series | list[str], passengers: int, seed: int) -> pd.DataFrame:
    """A synthetic oversold flight: ``passengers`` claimants drawn from ``customer_ids`` without replacement.

    CDNOW has no flights, so the facts of each booking are drawn from documented, made-up distributions (seeded):
    fare lognormal with median 250 (sigma 0.6), hours checked in before departure uniform on [0, 30], urgent
    medical travel 1%, reduced mobility 2%, unaccompanied minor 0.5%, travelling with small children 8%, need 0,
    frequent-flyer status gold 5%, silver 10%, bronze 15% (else none).
    They make the allocation example runnable; they are not data about anyone.
    """
    import numpy as np
    import pandas as pd

    ids = pd.Series(customer_ids).astype(str).to_numpy()
    if passengers > ids.size:
        raise ValueError(f"{passengers} passengers but only {ids.size} customers to draw from")
    rng = np.random.default_rng(seed)
    n = passengers
    return pd.DataFrame(
        {
            "claimant_id": [f"P{i:04d}" for i in range(1, n + 1)],
            "customer_id": rng.choice(ids, n, replace=False),
            "fare": np.round(rng.lognormal(np.log(250.0), 0.6, n), 2),
            "checked_in_hours": np.round(rng.uniform(0.0, 30.0, n), 2),
            "severity": np.zeros(n, dtype=int),
            "medical": rng.random(n) < 0.01,
            "reduced_mobility": rng.random(n) < 0.02,
            "unaccompanied_minor": rng.random(n) < 0.005,
            "children": rng.random(n) < 0.08,
            "status": rng.choice(np.array(["gold", "silver", "bronze", ""], dtype=object), n, p=[0.05, 0.1, 0.15, 0.7]),
        }
    )
