"""How fast is the one decision? decide() per call and decide_batch() per row, for every built-in policy.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/decide.py [--rows 200000] [--single 20000] [--repeats 7]

Contacts and customers are drawn from a fixed seed: channels uniform, severity 0-3, sentiment in [-1, 1] or
unknown, 20% complaints, repeats 0-3, CLV lognormal, loyalty uniform, influence uniform, a post's reach from
the synthetic follower distribution. Every figure is the median of ``--repeats`` timed runs in one process on one
core, as wall-clock time and as this process's CPU time (on a shared machine the CPU time is the per-core cost;
wall time also counts waiting for the CPU). Goals: a single decide() under 50 microseconds; decide_batch() at
least 1,000,000 decisions a second per core. Both run the one evaluator (fairserve.policy.evaluator).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pandas as pd

from fairserve.influence import synthetic_followers
from fairserve.model import Channel, Contact, Customer
from fairserve.policy import builtin_names, decide, decide_batch, load_policy

CHANNELS = [c.value for c in Channel]
STATUSES = ["gold", "silver", "bronze", "basic"]


def workload(n: int, seed: int = 7) -> pd.DataFrame:
    """``n`` contacts with their customers' columns merged in."""
    rng = np.random.default_rng(seed)
    sentiment = rng.uniform(-1, 1, n)
    sentiment[rng.random(n) < 0.3] = np.nan
    return pd.DataFrame({
        "contact_id": [f"k{i}" for i in range(n)],
        "channel": rng.choice(CHANNELS, n),
        "arrival": np.cumsum(rng.exponential(20.0, n)),
        "severity": rng.integers(0, 4, n),
        "sentiment": sentiment,
        "complaint": rng.random(n) < 0.2,
        "repeat": rng.integers(0, 4, n),
        "reach": synthetic_followers(n, seed).astype(float),
        "public": np.nan,  # unknown: public when the channel is social
        "customer_id": [f"c{i}" for i in range(n)],
        "clv": np.exp(rng.normal(3.0, 1.5, n)),
        "profit": np.exp(rng.normal(1.8, 1.5, n)),
        "loyalty": rng.random(n),
        "status": rng.choice(STATUSES, n),
        "account": None,
        "influence": rng.random(n),
        "followers": synthetic_followers(n, seed + 1),
        "value_percentile": rng.random(n),
    })


def as_objects(frame: pd.DataFrame) -> list[tuple[Contact, Customer]]:
    """The same workload as dataclasses, for decide()."""
    out = []
    for r in frame.itertuples(index=False):
        out.append((
            Contact(r.contact_id, Channel(r.channel), float(r.arrival), severity=int(r.severity),
                    sentiment=None if np.isnan(r.sentiment) else float(r.sentiment), complaint=bool(r.complaint),
                    repeat=int(r.repeat), reach=float(r.reach)),
            Customer(r.customer_id, clv=float(r.clv), profit=float(r.profit), loyalty=float(r.loyalty),
                     status=str(r.status), influence=float(r.influence), followers=int(r.followers),
                     value_percentile=float(r.value_percentile)),
        ))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows per decide_batch call")
    parser.add_argument("--single", type=int, default=20_000, help="decide() calls per timed run")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    frame = workload(args.rows)
    pairs = as_objects(frame.iloc[: args.single])
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, "
          f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}")
    print(f"# batch rows {args.rows:,}; single calls {args.single:,}; median of {args.repeats} runs")
    print(f"# load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| policy          | decide() µs/call (wall) | (CPU) | decide_batch rows/s (wall) | (CPU) |")
    print("|-----------------|------------------------:|------:|---------------------------:|------:|")
    for name in builtin_names():
        policy = load_policy(name)
        single, single_cpu = [], []
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            for contact, customer in pairs:
                decide(contact, customer, policy, contact.arrival)
            single.append((time.perf_counter() - t0) / len(pairs))
            single_cpu.append((time.process_time() - c0) / len(pairs))
        batch, batch_cpu = [], []
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            decide_batch(frame, policy)
            batch.append(time.perf_counter() - t0)
            batch_cpu.append(time.process_time() - c0)
        print(
            f"| {name:<16}| {statistics.median(single) * 1e6:>23.1f} | {statistics.median(single_cpu) * 1e6:>5.1f} "
            f"| {args.rows / statistics.median(batch):>26,.0f} | {args.rows / statistics.median(batch_cpu):>5,.0f} |"
        )


if __name__ == "__main__":
    main()
