"""Staffing formulas: Erlang B, Erlang C (M/M/c) and Erlang A (M/M/c+M, impatient customers).

All rates share one time unit (the caller's); waits come back in that unit. The functions are exact, not
approximations, and numerically stable for thousands of agents:

* Erlang B by its recursion ``B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))`` (no factorials, no overflow);
  Erlang C from Erlang B, ``C = c B / (c - a (1 - B))``.
* Erlang A from the birth-death chain of the number in system (birth ``lam``, death ``min(n, c) mu +
  max(n - c, 0) theta``), its stationary law computed in log space and truncated where the tail is below
  1e-16; this is the model of Garnett, Mandelbaum & Reiman (2002), whose closed forms (incomplete gamma
  functions) give the same numbers. The service level (answered within ``t``) follows from the waiting
  customer's position in queue, a small absorbing Markov chain solved with ``expm_multiply``.

References
----------
Erlang, A. K. (1917). Solution of some problems in the theory of probabilities of significance in automatic
telephone exchanges. *Elektroteknikeren* 13.
Garnett, O., Mandelbaum, A., & Reiman, M. (2002). Designing a call center with impatient customers.
*Manufacturing & Service Operations Management* 4(3), 208-227.
Gans, N., Koole, G., & Mandelbaum, A. (2003). Telephone call centers: tutorial, review, and research prospects.
*Manufacturing & Service Operations Management* 5(2), 79-141.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from fairserve.errors import FairserveError

__all__ = [
    "MAX_AGENTS",
    "StaffingError",
    "StaffingResult",
    "agents_needed",
    "agents_needed_by_tier",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "priority_waits",
    "staffing",
]


#: The most agents (and Erlangs of offered load) a staffing question may involve: Erlang B's recursion takes one
#: step per agent, so this bounds a question to well under a second; no one queue of a contact centre is near it.
MAX_AGENTS = 100_000
# Erlang A's chain runs to where the queue is this long (contacts waiting beyond the agents)
_MAX_QUEUE = 1_000_000


class StaffingError(FairserveError):
    """A staffing question with no answer (unstable load, bad rates, target unreachable)."""


@dataclass(frozen=True, slots=True)
class StaffingResult:
    """Steady-state performance of ``agents`` agents; waits are in the rates' time unit.

    ``mean_wait`` is the mean time in queue over all arrivals (answered and abandoned; zero for those served at
    once). ``service_level`` is the share of all arrivals answered within the target time.
    """

    agents: int
    offered_load: float
    occupancy: float
    p_wait: float
    mean_wait: float
    service_level: float
    abandon_rate: float

    def as_dict(self) -> dict[str, float | int]:
        """The result as a plain dict (for JSON)."""
        return asdict(self)


def _check(lam: float, mu: float, agents: int) -> None:
    if not (lam > 0 and math.isfinite(lam)):
        raise StaffingError(f"arrival rate must be positive, got {lam}")
    if not (mu > 0 and math.isfinite(mu)):
        raise StaffingError(f"service rate must be positive (handle mean > 0), got {mu}")
    if agents < 1:
        raise StaffingError(f"agents must be at least 1, got {agents}")


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of M/M/c/c with offered ``load`` = lam/mu Erlangs (stable recursion)."""
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(agents: int, load: float) -> float:
    """Probability that an arrival waits in M/M/c (Erlang C); 1.0 when ``load >= agents`` (unstable)."""
    if load >= agents:
        return 1.0
    b = erlang_b(agents, load)
    return agents * b / (agents - load * (1.0 - b))


def _erlang_c_result(lam: float, mu: float, agents: int, target_time: float) -> StaffingResult:
    load = lam / mu
    if load >= agents:
        raise StaffingError(
            f"unstable without abandonment: offered load {load:.3f} Erlangs >= {agents} agents "
            "(give a patience mean, or more agents)"
        )
    c = erlang_c(agents, load)
    gap = agents * mu - lam
    return StaffingResult(
        agents=agents,
        offered_load=load,
        occupancy=load / agents,
        p_wait=c,
        mean_wait=c / gap,
        service_level=1.0 - c * math.exp(-gap * target_time),
        abandon_rate=0.0,
    )


def _stationary(lam: float, mu: float, theta: float, agents: int) -> np.ndarray:
    """Stationary law of the M/M/c+M number in system, computed in log space and truncated at 1e-16."""
    logs = [0.0]
    n = 0
    while True:
        n += 1
        death = min(n, agents) * mu + max(n - agents, 0) * theta
        logs.append(logs[-1] + math.log(lam) - math.log(death))
        if n > agents and (logs[-1] - max(logs) < -37.0) and death > lam:
            break
        if n > agents + 10_000_000:  # pragma: no cover - guarded by theta > 0
            raise StaffingError("Erlang A chain did not converge")
    arr = np.asarray(logs)
    p = np.exp(arr - arr.max())
    return np.asarray(p / p.sum())


def erlang_a(lam: float, mu: float, theta: float, agents: int, target_time: float = 0.0) -> StaffingResult:
    """Performance of M/M/c+M (Erlang A; Garnett, Mandelbaum & Reiman 2002).

    Parameters
    ----------
    lam, mu, theta:
        Arrival rate, service rate (1 / handle mean) and abandonment rate (1 / patience mean), one time unit.
        ``theta == 0`` is Erlang C.
    agents:
        Number of agents ``c``.
    target_time:
        Service-level threshold in the same unit: ``service_level`` = P(answered within it), over all arrivals.
    """
    _check(lam, mu, agents)
    if theta < 0 or not math.isfinite(theta):
        raise StaffingError(f"abandonment rate must be >= 0, got {theta}")
    if theta == 0:
        return _erlang_c_result(lam, mu, agents, target_time)
    p = _stationary(lam, mu, theta, agents)
    n = np.arange(p.size)
    queue = np.maximum(n - agents, 0)
    mean_queue = float(np.sum(queue * p))
    p_wait = float(p[agents:].sum())  # PASTA: an arrival waits when it finds all agents busy
    # An arrival that finds j waiting joins at position j + 1; it advances at rate c mu + k theta with k ahead,
    # is served from position 0 at rate c mu, and leaves itself at rate theta. Absorbing chain on k = 0..K.
    ahead = p[agents:]  # probability of finding j = 0, 1, ... waiting
    k = np.arange(ahead.size)
    rate_on = agents * mu + k * theta  # leaving state k for k - 1 (or service from k = 0)
    size = ahead.size + 1  # states 0..K, then "served" (absorbing); abandonment leaks out of the chain
    from scipy import sparse  # here, not at import: the simulator imports this module, few runs need it
    from scipy.sparse.linalg import expm_multiply

    gen = sparse.lil_matrix((size, size))
    for i in range(ahead.size):
        gen[i, i] = -(rate_on[i] + theta)
        if i == 0:
            gen[i, size - 1] = rate_on[i]
        else:
            gen[i, i - 1] = rate_on[i]
    start = np.zeros(size)
    start[: ahead.size] = ahead
    answered_late = float(expm_multiply(gen.T.tocsc() * target_time, start)[size - 1]) if target_time > 0 else 0.0
    return StaffingResult(
        agents=agents,
        offered_load=lam / mu,
        occupancy=float(np.sum(np.minimum(n, agents) * p)) / agents,
        p_wait=p_wait,
        mean_wait=mean_queue / lam,  # Little's law over all arrivals
        service_level=float(p[:agents].sum()) + answered_late,
        abandon_rate=theta * mean_queue / lam,
    )


def staffing(
    lam: float, handle_mean: float, agents: int, *, patience_mean: float | None = None, target_time: float = 0.0
) -> StaffingResult:
    """Erlang C (``patience_mean`` None) or Erlang A performance of ``agents`` agents.

    Refused (:class:`StaffingError`) beyond :data:`MAX_AGENTS` agents or Erlangs of offered load: the recursions
    take a step per agent (and Erlang A per queued contact), so a mistyped rate of 1e12 would run for hours.
    """
    theta = 0.0 if patience_mean is None or math.isinf(patience_mean) else 1.0 / patience_mean
    if handle_mean <= 0:
        raise StaffingError(f"handle mean must be positive, got {handle_mean}")
    _check_size(lam, handle_mean, agents, theta)
    return erlang_a(lam, 1.0 / handle_mean, theta, agents, target_time)


def _check_size(lam: float, handle_mean: float, agents: int, theta: float) -> None:
    """Refuse a model too big to compute here (see :data:`MAX_AGENTS`), saying which number is too big."""
    for name, value in (("arrival rate", lam), ("handle mean", handle_mean)):
        if not math.isfinite(value):
            raise StaffingError(f"{name} must be a finite number, got {value}")
    load = lam * handle_mean
    if agents > MAX_AGENTS:
        raise StaffingError(f"{agents:,} agents: at most {MAX_AGENTS:,} can be evaluated")
    if not load <= MAX_AGENTS:  # also NaN
        raise StaffingError(f"offered load {load:,.4g} Erlangs (arrival rate x handle mean) is more than "
                            f"{MAX_AGENTS:,} agents could serve; check the rate, the handle mean and their time unit")
    if theta > 0 and (lam - agents / handle_mean) / theta > _MAX_QUEUE:
        raise StaffingError(f"with {agents:,} agents about {(lam - agents / handle_mean) / theta:,.4g} contacts "
                            "would queue before they abandon: too many to compute; give more agents or a "
                            "shorter patience mean")


def agents_needed(
    lam: float,
    handle_mean: float,
    target_sl: float,
    target_time: float,
    *,
    patience_mean: float | None = None,
    max_agents: int | None = None,
) -> StaffingResult:
    """The fewest agents whose service level (answered within ``target_time``) reaches ``target_sl``."""
    if not 0 < target_sl < 1:
        raise StaffingError(f"target service level must be in (0, 1), got {target_sl}")
    max_agents = MAX_AGENTS if max_agents is None else min(max_agents, MAX_AGENTS)
    if handle_mean > 0:
        _check_size(lam, handle_mean, 1, 0.0)

    def meets(c: int) -> bool:
        sl = staffing(lam, handle_mean, c, patience_mean=patience_mean, target_time=target_time).service_level
        return sl >= target_sl

    # the service level grows with the agents: bracket, then bisect. Without abandonment fewer agents than the
    # load is unstable; with it any number is stable, and fewer than the load may do.
    lo = math.floor(lam * handle_mean) + 1 if patience_mean is None else 1
    hi = max(lo, 1)
    while not meets(hi):
        lo = hi + 1
        hi *= 2
        if hi > max_agents:
            raise StaffingError(f"no staffing up to {max_agents} agents reaches service level {target_sl}")
    while lo < hi:
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid + 1
    return staffing(lam, handle_mean, hi, patience_mean=patience_mean, target_time=target_time)


def priority_waits(rates: list[float], mu: float, agents: int) -> list[float]:
    """Mean wait in queue per class of the non-preemptive priority M/M/c with a common service rate.

    Class 0 is served first. Cobham (1954): ``W_k = C(c, a) / (c mu (1 - s_{k-1}) (1 - s_k))`` with
    ``s_k = sum_{i <= k} lam_i / (c mu)`` and ``C`` the Erlang C probability of the total load.

    Cobham, A. (1954). Priority assignment in waiting line problems. *Operations Research* 2(1), 70-76.
    """
    lam = float(sum(rates))
    _check(lam, mu, agents)
    if lam / mu >= agents:
        raise StaffingError("unstable: total load >= agents")
    c = erlang_c(agents, lam / mu)
    out = []
    before = 0.0
    for r in rates:
        after = before + r / (agents * mu)
        out.append(c / (agents * mu * (1.0 - before) * (1.0 - after)))
        before = after
    return out


def agents_needed_by_tier(
    rates: list[float], handle_mean: float, target_waits: list[float], *, max_agents: int = MAX_AGENTS
) -> tuple[int, list[float]]:
    """The fewest agents for which every tier's mean wait under strict priority meets its target.

    Tiers are served in the order given (non-preemptive, common handling time); each tier's mean wait is
    Cobham's (see :func:`priority_waits`). Returns the agents and the tiers' mean waits with them.
    """
    if len(rates) != len(target_waits) or not rates:
        raise StaffingError("give one target wait per tier")
    if handle_mean <= 0 or min(target_waits) <= 0:
        raise StaffingError("handle mean and target waits must be positive")
    mu = 1.0 / handle_mean
    c = math.floor(sum(rates) * handle_mean) + 1
    while c <= max_agents:
        waits = priority_waits(rates, mu, c)
        if all(w <= t for w, t in zip(waits, target_waits, strict=True)):
            return c, waits
        c += 1
    raise StaffingError(f"no staffing up to {max_agents} agents meets every tier's target wait")
