"""The discrete-event contact centre: agents serve waiting contacts in the policy's order; impatient ones leave.

Why our own event loop rather than simpy, ciw or salabim: those fix a request's priority when it is made, or
re-sort the queue on every join, and pay for a general process-interaction engine (a generator or object per
customer) on every event. On the two-class M/M/50 benchmark (``docs/benchmarks.md``) the plain heap loop
runs about 16-23x simpy's arrivals per second in pure Python and over 200x compiled, a whole replication with
the real policy over 50x, and ciw is slower than simpy. Our queue order needs none of that generality:
a contact's :class:`~fairserve.model.QueueKey` is static while it waits (the head start is subtracted from the
arrival time once), so

1. one replication's contacts are drawn up front (:func:`fairserve.sim.scenario.draw_contacts`),
2. decided in ONE call of :func:`fairserve.policy.decide_batch` -- the function the live service runs, row for
   row equal to :func:`fairserve.policy.decide` -- giving each contact its tier, queue, key and SLA (one row per
   distinct profile, see :func:`decide_contacts`),
3. then served by a loop over arrivals and service completions with two heaps: completion times, and the
   waiting contacts by key. Abandonment needs no event of its own: a contact whose patience ran out before it
   reached the head of the queue is dropped when popped (lazy deletion), since leaving frees no agent. When
   the policy declares a wait guarantee on a channel (``guarantee_seconds``), each dispatch first looks at the
   oldest waiting contact of each guarantee value (arrival-ordered lists with a read pointer): one past its
   guarantee is served before the key's head (see :mod:`fairserve.sim._kernel`).

The loop is non-preemptive: an agent finishes the contact in hand. Agents may be split into pools by channel
(each pool with its own queue), and a policy may route contacts to a social-care queue with its own agents.
Call-backs (a customer who gave up calling again) are drawn up front as possible contacts and let happen only
when the call they follow really abandoned, which the loop knows by their arrival (``parent``).
:func:`serve` runs the loop: ``kernel="python"`` the plain-Python reference (:mod:`heapq`), ``"numba"`` the same
loop over arrays compiled (:mod:`fairserve.sim._kernel`); tests hold the two to identical results and the
reference to simpy. A replication's other steps (draw, decide, queue order, overtakes, outcomes, metrics) are
vectorised or compiled, keep million-row temporaries few and write fresh columns on huge pages
(:func:`fairserve.sim._kernel.buffer`); ``compare_policies`` builds no frame beyond the draw, writes no column
that every contact shares (``draw_contacts(shared=True)``), and counts the overtakes on a second thread while
it computes the outcomes and the wait percentiles. Together they cost about one and a half times the
compiled loop (``benchmarks/simulate.py --stages``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd

from fairserve.errors import FairserveError
from fairserve.model import Channel
from fairserve.sim import _kernel
from fairserve.sim.scenario import Scenario, draw_contacts

__all__ = [
    "Decider",
    "assign_pools",
    "decide_contacts",
    "existing",
    "first_of_each",
    "queue_order",
    "run_replication",
    "serve",
]

Decider = Any  # a fairserve.policy.Policy, or a callable frame -> decisions frame (the columns _DECISION_COLUMNS)
Kernel = Literal["auto", "python", "numba"]
_POLICY_COLUMNS = (  # every signal a policy condition may read: decide_batch requires all of them
    "contact_id",
    "channel",
    "arrival",
    "severity",
    "sentiment",
    "complaint",
    "repeat",
    "reach",
    "public",
    "customer_id",
    "clv",
    "profit",
    "loyalty",
    "value_percentile",
    "influence",
    "followers",
    "status",
    "account",
)


_DECISION_COLUMNS = (  # what the simulator reads of each decision (decide_batch gives these and more)
    "tier",
    "rank",
    "queue",
    "head_start_min",
    "influence_min",
    "virtual_arrival",
    "sla_seconds",
    "guarantee_seconds",
)


def serve(
    arrival: np.ndarray,
    order: np.ndarray,
    who: np.ndarray,
    service: np.ndarray,
    patience: np.ndarray,
    agents: int,
    kernel: Kernel = "auto",
    parent: np.ndarray | None = None,
    guarantee: np.ndarray | None = None,
) -> np.ndarray:
    """Serve contacts with ``agents`` agents; return each contact's start of service (NaN: it abandoned).

    Parameters
    ----------
    arrival:
        Arrival times, sorted ascending.
    order:
        Each contact's position in the queue order (a permutation of ``0..n-1``; lower serves first), and
        ``who`` its inverse (``who[order[i]] == i``).
    service, patience:
        Handling time and patience of each contact (``inf``: never abandons).
    kernel:
        ``"python"``: the plain-Python reference loop (:func:`fairserve.sim._kernel.serve_reference`);
        ``"numba"``: the same loop compiled; ``"auto"``: compiled when numba is installed.
    parent:
        For a possible call-back, the index of the contact it follows (-1: none). It happens only if that
        contact happened and abandoned, which is known by its arrival; otherwise it is skipped (start NaN; see
        :func:`existing`).
    guarantee:
        The longest wait each contact's policy allows, in the time unit (``inf``: none; None: none at all). At
        each dispatch a contact waiting longer than its guarantee goes first, the one whose guarantee ran out
        first before the others (see :mod:`fairserve.sim._kernel`).
    """
    if parent is None:
        parent = np.full(arrival.size, -1, dtype=np.int64)
    g, lane = _lanes(guarantee)
    inputs = _loop_inputs(arrival, order, who, service, patience)
    start, _, _ = _loop(kernel)(*inputs, int(agents), _ints(parent), g, lane)
    return np.asarray(start)


_NO_LANES = np.empty(0, dtype=np.int64)
_NO_GUARANTEE = np.empty(0, dtype=np.float64)


def _lanes(guarantee: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The loop's guarantee inputs: each contact's guarantee and lane (contacts of one lane share a guarantee).

    Lane ``k`` holds the contacts with the ``k``-th smallest finite guarantee; -1: none. Without any finite
    guarantee both are empty, and the loop skips its guarantee probe.
    """
    if guarantee is None:
        return _NO_GUARANTEE, _NO_LANES
    g = np.ascontiguousarray(guarantee, dtype=np.float64)
    finite = np.isfinite(g)
    if not finite.any():
        return _NO_GUARANTEE, _NO_LANES
    lane = np.full(g.size, -1, dtype=np.int64)
    lane[finite] = np.unique(g[finite], return_inverse=True)[1]
    return g, lane


def _loop(kernel: Kernel) -> _kernel.Loop:
    """The event loop to run: compiled with numba (``"numba"``, or ``"auto"`` when installed) or the reference."""
    use_numba = kernel == "numba" or (kernel == "auto" and _kernel.HAVE_NUMBA)
    return _kernel.serve if use_numba else _kernel.serve_reference


def _ints(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.int64)


def _loop_inputs(*arrays: np.ndarray) -> list[np.ndarray]:
    """``arrival, order, who, service, patience`` as the contiguous float/int arrays the loops compile for
    (``order`` and ``who`` as 32-bit integers when :func:`queue_order` gave them so, else 64-bit)."""
    ints = np.int32 if all(x.dtype == np.int32 for x in arrays[1:3]) else np.int64
    dtypes = (np.float64, ints, ints, np.float64, np.float64)
    return [np.ascontiguousarray(x, dtype=t) for x, t in zip(arrays, dtypes, strict=True)]


def existing(parent: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Which contacts happened: all first calls, and the call-backs whose previous call happened and abandoned.

    Call-backs form chains (a call-back's parent may be a call-back); each pass settles one more level, so the
    loop runs as many vectorised passes as the longest chain.
    """
    real = np.ones(parent.size, dtype=bool)
    back = np.flatnonzero(parent >= 0)
    if back.size == 0:
        return real
    q = parent[back]
    follows_abandoned = np.isnan(start[q])
    while True:
        now = real[q] & follows_abandoned
        if np.array_equal(now, real[back]):
            return real
        real[back] = now


def decide_contacts(frame: pd.DataFrame, decider: Decider) -> pd.DataFrame:
    """Decide every contact in one vectorised call: the policy's ``decide_batch``, or a plain key function.

    When the frame has a ``profile`` column (as :func:`~fairserve.sim.scenario.draw_contacts` gives), the policy
    decides one contact per profile and the rest are filled in: contacts of one profile differ only in their
    arrival, and by the policy contract the arrival enters a decision only as a shift, ``virtual_arrival =
    arrival - advance`` and ``sla_deadline = arrival + sla_seconds``. So each profile is decided at arrival 0,
    and its shifts are added to every arrival (exactly what deciding each row computes: a test holds the two
    equal). A million contacts of a few segments then cost a handful of policy rows.
    """
    return pd.DataFrame(_decisions(frame, decider), index=frame.index, copy=False)


def _decisions(frame: pd.DataFrame, decider: Decider) -> dict[str, Any]:
    """:func:`decide_contacts` as a dict of columns (arrays; ``tier`` and ``queue`` categorical)."""
    decided = _Decided(frame, decider)
    columns = {col: decided[col] for col in decided.values}
    # arrays of its own (a virtual arrival without head starts is the frame's read-only arrival column)
    return {col: v.copy() if isinstance(v, np.ndarray) and not v.flags.writeable else v for col, v in columns.items()}


class _Decided:
    """Every contact's decision, made once per profile and spread to the contacts a column at a time, on demand.

    ``values`` holds the decisions of each distinct profile, decided at arrival 0, and ``inverse`` each
    contact's profile (see :func:`decide_contacts`); without profiles (or with a plain key function) every
    contact is decided and ``inverse`` is None. ``decided[col]`` is the column for every contact;
    ``decided.profiles(col)`` the column per profile, for what can be computed there before it is spread.
    """

    def __init__(self, frame: pd.DataFrame, decider: Decider) -> None:
        self.inverse: np.ndarray | None = None
        self.arrival = frame["arrival"].to_numpy(dtype=float)
        if callable(decider) and not hasattr(decider, "tier_names"):
            self.values = _categorical_text(pd.DataFrame(decider(_policy_inputs(frame))))
            return
        from fairserve.policy import decide_batch

        if "profile" not in frame or len(frame) == 0:
            self.values = _categorical_text(pd.DataFrame(decide_batch(_policy_inputs(frame), decider)))
            return
        first, self.inverse = first_of_each(frame["profile"].to_numpy())
        rows = _policy_inputs(frame.iloc[first].reset_index(drop=True))
        rows["arrival"] = 0.0  # each profile decided at arrival 0: its virtual arrival is then minus its advance
        self.values = _categorical_text(pd.DataFrame(decide_batch(rows, decider)))

    def profiles(self, col: str) -> Any:
        """Column ``col`` per profile (per contact when there are no profiles)."""
        return self.values[col]

    def spread(self, values: Any) -> Any:
        """Per-profile ``values`` (an array or categorical) for every contact."""
        if self.inverse is None:
            return values
        if isinstance(values, pd.Categorical):
            return pd.Categorical.from_codes(values.codes[self.inverse], dtype=values.dtype)
        values = np.asarray(values)
        return np.take(values, self.inverse, out=_kernel.buffer(self.inverse.size, values.dtype), mode="clip")

    def __getitem__(self, col: str) -> Any:
        values = self.values[col]
        if self.inverse is None or col not in ("virtual_arrival", "sla_deadline"):
            return self.spread(values)
        shifts = np.asarray(values, dtype=float)
        if not shifts.any():  # no profile shifts (no head start): arrival + 0 is the arrival itself
            return self.arrival
        shift = self.spread(shifts)  # arrival + the profile's shift, in one new array
        return np.add(self.arrival, shift, out=shift)  # arrival + (0 - advance) == arrival - advance


def _policy_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """The policy's input columns of ``frame``, all of :data:`_POLICY_COLUMNS`: a column the frame lacks is unknown.

    An unknown signal is NaN in every row (a scenario that gives no ``profit`` says nothing about it), and
    ``public`` defaults to the channel being social, as :func:`~fairserve.sim.scenario.draw_contacts` draws it.
    """
    out = frame[[c for c in _POLICY_COLUMNS if c in frame]]
    missing = [c for c in _POLICY_COLUMNS if c not in frame]
    if not missing:
        return out
    fill: dict[str, Any] = dict.fromkeys(missing, np.full(len(frame), np.nan))
    if "public" in fill:
        fill["public"] = np.asarray(frame["channel"].astype(str) == "social", dtype=bool)
    return out.assign(**fill)[list(_POLICY_COLUMNS)]


def _categorical_text(decisions: pd.DataFrame) -> dict[str, Any]:
    """The decision columns as arrays, ``tier`` and ``queue`` as categoricals (not a million Python strings)."""
    out: dict[str, Any] = {}
    for col in decisions.columns:
        values = decisions[col]
        out[col] = values.astype("category").array if col in ("tier", "queue") else values.to_numpy()
    missing = [c for c in _DECISION_COLUMNS if c not in out]
    if missing:
        raise FairserveError(f"the decider gave no {', '.join(missing)} column(s); it must give {_DECISION_COLUMNS}")
    return out


def first_of_each(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the first occurrence of each distinct value, in order of appearance, and each row's value number.

    ``values[first][inverse] == values``. Integers of a modest range (profiles) are numbered in one compiled
    pass over a table of their range (:func:`fairserve.sim._kernel.first_of_each`); anything else by a hash
    factorisation, linear in the rows (a sort-based ``np.unique`` costs 3-9x more on a million rows): codes come
    numbered in order of first appearance, so the running maximum of the codes first reaches ``k`` at the first
    row of value ``k``.
    """
    if values.dtype.kind in "iu" and values.size:  # integers (profiles): numbered in one compiled pass
        lo, hi = int(values.min()), int(values.max())
        if hi - lo < max(2**16, values.size):
            first, inverse = np.empty(values.size, dtype=np.int64), _kernel.buffer(values.size, np.int64)
            count = _kernel.first_of_each(values, lo, hi - lo + 1, first, inverse)
            return first[:count].copy(), inverse
    inverse, uniques = pd.factorize(values, use_na_sentinel=False)
    first = np.searchsorted(np.maximum.accumulate(inverse), np.arange(len(uniques)))
    return first, inverse.astype(np.int64, copy=False)


def queue_order(rank: np.ndarray, virtual_arrival: np.ndarray, arrival: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The queue order of contacts given in arrival order: ``(who, order)``, ``who[order[i]] == i``.

    Contacts are served by rank, then virtual arrival, then arrival, then position (``np.lexsort`` of those
    keys). When the arrivals are sorted (as drawn), position breaks ties like arrival does, and the key is
    two stable sorts: by virtual arrival (skipped when already in order, e.g. without head starts), then by rank
    (a counting sort, :func:`fairserve.sim._kernel.rank_order`, which also gives the inverse; then ``who`` and
    ``order`` are 32-bit integers below 2**31 contacts).
    """
    n = rank.size
    if not np.all(arrival[1:] >= arrival[:-1]):
        who = np.lexsort((np.arange(n), arrival, virtual_arrival, rank))
    else:
        sorted_va = virtual_arrival is arrival or bool(np.all(virtual_arrival[1:] >= virtual_arrival[:-1]))
        by_va = _NO_LANES if sorted_va else np.argsort(virtual_arrival, kind="stable")  # empty: already in order
        lo, hi = (int(rank.min()), int(rank.max())) if n else (0, 0)
        if hi - lo < 2**16:  # ranks are tiers' places: a few distinct small integers
            places = np.int32 if n < 2**31 else np.int64  # half the memory of 64-bit places
            who, order = _kernel.buffer(n, places), _kernel.buffer(n, places)
            _kernel.rank_order(np.ascontiguousarray(rank), lo, hi - lo + 1, by_va, who, order)
            return who, order
        sort_rank = np.argsort(rank if sorted_va else rank[by_va], kind="stable")
        who = sort_rank if sorted_va else by_va[sort_rank]
    order = _kernel.buffer(n, np.int64)
    order[who] = np.arange(n)
    return who, order


def assign_pools(scenario: Scenario, channel: pd.Series, social_care: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Pool index of each contact and the agents of each pool (0: service, then channel pools, social care).

    ``social_care`` marks the contacts the policy routed to the social-care queue; they have their own agents
    when the centre has ``social_care_agents``, else the service agents take them in the one queue.
    """
    agents = [scenario.center.agents] + [p.agents for p in scenario.pools]
    pool = np.zeros(len(channel), dtype=np.int64)
    for k, p in enumerate(scenario.pools, start=1):
        pool[channel.isin([str(c) for c in p.channels]).to_numpy(dtype=bool)] = k
    if scenario.center.social_care_agents > 0:
        agents.append(scenario.center.social_care_agents)
        pool[social_care] = len(agents) - 1
    return pool, agents


def run_replication(
    scenario: Scenario,
    decider: Decider,
    rng: np.random.Generator,
    customers: pd.DataFrame | None = None,
    kernel: Kernel = "auto",
    contacts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Simulate one replication; return one row per contact (warm-up included; column ``measured`` marks the rest).

    Columns: the drawn contact (:func:`~fairserve.sim.scenario.draw_contacts`), the decision (``tier``, ``rank``,
    ``queue``, ``head_start_min``, ``influence_min``, ``virtual_arrival``, ``sla_seconds``,
    ``guarantee_seconds``), and the outcome in time units: ``start`` (NaN if abandoned), ``wait`` (time in
    queue, up to service or abandonment), ``served``, ``abandoned``, ``by_guarantee`` (served ahead of the
    queue order because its wait passed the policy's guarantee), ``overtaken`` (later arrivals served while it
    waited) and ``overtaken_influence`` (those that passed it only thanks to influence). Give ``contacts`` to
    reuse one draw across policies.
    """
    frame = draw_contacts(scenario, rng, customers) if contacts is None else contacts
    new = _simulate(scenario, decider, frame, kernel, _FRAME_DECISIONS)
    return pd.concat([frame, pd.DataFrame(new, index=frame.index, copy=False)], axis=1)


_FRAME_DECISIONS = ("tier", "queue", "rank", "head_start_min", "influence_min", "virtual_arrival", "sla_seconds",
                    "guarantee_seconds")
"""The decision columns of :func:`run_replication`'s frame."""
_METRIC_DECISIONS = ("tier", "sla_seconds")
"""The decision columns the metrics read (:mod:`fairserve.sim.metrics`)."""


def _simulate(
    scenario: Scenario,
    decider: Decider,
    frame: pd.DataFrame,
    kernel: Kernel,
    decisions: tuple[str, ...],
    background: bool = False,
) -> dict[str, Any]:
    """One replication of the contacts ``frame``: the decision columns ``decisions`` and the outcome columns.

    The columns of :func:`run_replication` that the draw does not give, as arrays (``tier``, ``queue``
    categoricals). A decision column is spread from the profiles to the contacts only when asked for, or when
    the loop needs it: the rank and virtual arrival always, the guarantee and the social-care queue only when
    some profile has them.

    ``background``: the overtakes of a centre with one queue are counted on another thread (the compiled count
    releases the GIL), while the caller goes on with the outcomes; the dict returned is then a
    :class:`_Columns`, whose ``overtaken`` and ``overtaken_influence`` wait for that thread when first read
    (they are not among its keys until then).
    """
    dec = _Decided(frame, decider)
    n = len(frame)
    new = {col: dec[col] for col in decisions if col != "virtual_arrival"}
    va = np.asarray(dec["virtual_arrival"], dtype=float)
    influence = np.nan_to_num(np.asarray(dec.profiles("influence_min"), dtype=float))
    # the key without influence minutes: virtual arrival + influence minutes, in seconds (alike when none)
    plain = va + dec.spread(influence * 60.0) if influence.any() else va
    guarantee_s = np.asarray(dec.profiles("guarantee_seconds"), dtype=float)
    guarantee = None
    if np.isfinite(guarantee_s).any():
        guarantee = np.asarray(new["guarantee_seconds"] if "guarantee_seconds" in new else dec.spread(guarantee_s),
                               dtype=float) / scenario.unit_seconds  # time units
    social_p = np.asarray(dec.profiles("queue") == "social-care", dtype=bool)
    social = dec.spread(social_p) if social_p.any() else np.zeros(n, dtype=bool)
    pool, agents = assign_pools(scenario, frame["channel"], social)
    t = frame["t"].to_numpy(dtype=float)
    patience = frame["patience"].to_numpy(dtype=float)
    parent = frame["parent"].to_numpy(dtype=np.int64) if "parent" in frame else np.full(n, -1, dtype=np.int64)
    columns = (
        t,
        frame["arrival"].to_numpy(dtype=float),
        frame["handle"].to_numpy(dtype=float),
        patience,
        _ranks(dec),
        va,
        plain,
    )
    results: list[tuple[Any, tuple[Any, ...]]] = []
    for k, c in enumerate(agents):
        idx = np.flatnonzero(pool == k) if len(agents) > 1 else None
        if idx is None or idx.size == n:  # one queue for everyone: the columns as they are, no copies
            results.append((slice(None), _serve_queue(c, kernel, parent, guarantee, *columns)))
            continue
        if idx.size == 0:
            continue
        local = np.full(n, -1, dtype=np.int64)  # the call-backs' parents, numbered within the pool
        local[idx] = np.arange(idx.size)
        par = np.where(parent[idx] >= 0, local[np.maximum(parent[idx], 0)], -1)
        if np.any((parent[idx] >= 0) & (par < 0)):
            raise FairserveError("a call-back was routed to another queue than the call it follows")
        g = None if guarantee is None else guarantee[idx]
        results.append((idx, _serve_queue(c, kernel, par, g, *(x[idx] for x in columns))))
    pending = None
    if len(results) == 1 and isinstance(results[0][0], slice):
        start, real, forced, count = results[0][1]
        if background and kernel != "python" and _kernel.HAVE_NUMBA:
            pending = _Later(count)
            overtaken = by_influence = None
        else:
            overtaken, by_influence = count()
    else:
        start, real, forced = np.full(n, np.nan), np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
        overtaken, by_influence = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        for on, (st, real_k, forced_k, count) in results:
            start[on], real[on], forced[on] = st, real_k, forced_k
            overtaken[on], by_influence[on] = count()
    # time to service (those not served waited their patience), served, abandoned, and measured: call-backs
    # that never happened are not measured
    wait = _kernel.buffer(n, np.float64)
    served, abandoned, measured = _kernel.buffer(n, np.bool_), _kernel.buffer(n, np.bool_), _kernel.buffer(n, np.bool_)
    _kernel.after_the_loop(start, t, patience, real, float(scenario.center.warmup), wait, served, abandoned, measured)
    if "virtual_arrival" in decisions:  # a frame's own array (without head starts va is the arrival column)
        new["virtual_arrival"] = va if va.flags.writeable else va.copy()
    new.update(start=start, served=served, abandoned=abandoned, by_guarantee=forced, wait=wait)
    if pending is None:
        new.update(overtaken=overtaken, overtaken_influence=by_influence)
    new.update(pool=pool, measured=measured, happened=real)
    return new if pending is None else _Columns(new, pending)


def _ranks(dec: _Decided) -> np.ndarray:
    """Every contact's rank for the loop, as the smallest integers that hold the profiles' ranks (tiers' places:
    a byte each, not eight)."""
    per_profile = np.asarray(dec.profiles("rank"), dtype=np.int64)
    if per_profile.size and per_profile.min() >= -128 and per_profile.max() < 128:
        per_profile = per_profile.astype(np.int8)
    return np.asarray(dec.spread(per_profile))


class _Later:
    """``run()`` on another thread, started at once; ``result()`` waits for it and gives its value (or raises)."""

    def __init__(self, run: Callable[[], Any]) -> None:
        import threading

        self._run = run
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._target, name="fairserve-overtakes", daemon=True)
        self._thread.start()

    def _target(self) -> None:
        try:
            self._value = self._run()
        except BaseException as exc:  # re-raised by result(), in the caller's thread
            self._error = exc

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


class _Columns(dict[str, Any]):
    """A replication's columns whose overtakes are still being counted: reading either waits for them."""

    def __init__(self, columns: dict[str, Any], pending: _Later) -> None:
        super().__init__(columns)
        self._pending = pending

    def __missing__(self, key: str) -> Any:
        if key not in ("overtaken", "overtaken_influence"):
            raise KeyError(key)
        self["overtaken"], self["overtaken_influence"] = self._pending.result()
        return self[key]


def _serve_queue(
    agents: int, kernel: Kernel, parent: np.ndarray, guarantee: np.ndarray | None, *columns: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Callable[[], tuple[np.ndarray, np.ndarray]]]:
    """One queue: its order, the event loop, and the overtakes; ``columns`` as built in :func:`run_replication`.

    Returns each contact's start (NaN: not served), whether it happened, whether the guarantee served it, and
    the count of overtakes to run (now, or on another thread): it gives how many later arrivals overtook each
    contact, and how many of those only by influence (a contact served by the guarantee passed no one by
    influence).
    """
    t, arrival_s, handle, patience, rank, va, plain = columns
    who, order = queue_order(rank, va, arrival_s)
    g, lane = _lanes(guarantee)
    parent = _ints(parent) if np.any(parent >= 0) else _NO_LANES  # empty: no call-backs (the draw's -1 seen n times)
    start, real, forced = _loop(kernel)(*_loop_inputs(t, order, who, handle, patience), int(agents), parent, g, lane)
    count = _kernel.overtakes if kernel != "python" else _kernel._overtakes

    def overtakes() -> tuple[np.ndarray, np.ndarray]:
        return count(t, start, patience, real, forced, rank, va, plain)

    return start, real, forced, overtakes


def key_function(
    rank_of: Callable[[pd.DataFrame], np.ndarray],
    *,
    sla_seconds: float | dict[str, float] = np.inf,
    guarantee_seconds: float | dict[str, float] = np.inf,
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """A plain key function as a decider: ``rank_of(frame)`` gives strict ranks; FIFO within a rank.

    ``sla_seconds`` and ``guarantee_seconds`` are the promise and the wait guarantee, one for all or per
    channel name (a channel left out: inf). Useful to test the loop against queueing theory, and the metrics,
    without a policy file.
    """

    def per_channel(value: float | dict[str, float], frame: pd.DataFrame) -> np.ndarray:
        if isinstance(value, dict):
            return frame["channel"].astype(str).map(value).to_numpy(dtype=float, na_value=np.inf)
        return np.full(len(frame), float(value))

    def decide(frame: pd.DataFrame) -> pd.DataFrame:
        n = len(frame)
        return pd.DataFrame(
            {
                "tier": np.full(n, "all", dtype=object),
                "rank": np.asarray(rank_of(frame), dtype=np.int64),
                "queue": np.full(n, "service", dtype=object),
                "head_start_min": np.zeros(n),
                "influence_min": np.zeros(n),
                "virtual_arrival": frame["arrival"].to_numpy(dtype=float),
                "sla_seconds": per_channel(sla_seconds, frame),
                "guarantee_seconds": per_channel(guarantee_seconds, frame),
            },
            index=frame.index,
        )

    return decide


def resolve_policy(policy: Any) -> tuple[str, Decider]:
    """A policy name, path, Policy or key function -> (label, decider), run as loaded.

    Every policy runs from its own file, ``tier-strict`` included: a segment's ``tier`` is the contact's
    ``status``, which the policy's tiers match (the built-in ``tier-strict`` serves gold, silver, bronze, basic
    in that order).
    """
    if isinstance(policy, str):
        from fairserve.policy import load_policy

        return policy, load_policy(policy)
    return str(getattr(policy, "name", getattr(policy, "__name__", "policy"))), policy


def compare_policies(
    scenario: Scenario,
    policies: list[Any],
    replications: int = 10,
    seed: int = 0,
    customers: pd.DataFrame | None = None,
    *,
    kernel: Kernel = "auto",
    progress: Callable[[int], None] | None = None,
    jobs: int = 1,
    draw: Callable[[np.random.Generator], pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """Simulate every policy on the same contacts and return the metrics dict (what ``simulate --json`` prints).

    ``draw(rng)``, when given, makes each replication's contacts in place of
    :func:`~fairserve.sim.scenario.draw_contacts` (a replayed contact log: :mod:`fairserve.sim.replay`).

    Replication ``r`` draws its contacts from ``SeedSequence(seed).spawn(replications)[r]``; every policy is
    run on those same contacts (common random numbers), so differences between policies are not noise of the
    draw. Every policy is measured against the scenario's service targets (``targets``: per channel of the
    scenario, ``within`` in time units and seconds, and the ``share`` to reach; ``targets_text`` says them in
    words). ``progress(r)`` is called after each replication. Returns ``{"scenario", "replications", "seed",
    "time_unit", "targets", "targets_text", "policies": {label: {"segments": {...}, "all", "tiers",
    "channels", [deciles], "arrivals", "elapsed_s", "policy": {...}}}, "elapsed_s"}``; see
    :mod:`fairserve.sim.metrics` for the definitions. A policy's ``arrivals`` is the total over all
    replications (a segment's is per replication).

    ``jobs`` > 1 runs the replications in that many processes (forked, so the policies and the customer base are
    not copied by pickling); each replication depends on its own seed only, so the result is the same as a
    serial run's, value for value (``elapsed_s`` aside). The kernels are loaded before the clock starts
    (:func:`_warm`): ``elapsed_s`` times drawing, deciding, the event loop and the metrics.
    """
    import time

    from fairserve.sim.metrics import summarise

    if replications < 1:
        raise ValueError("replications must be at least 1")
    resolved = [resolve_policy(p) for p in policies]
    per_policy: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in resolved}
    elapsed = dict.fromkeys(per_policy, 0.0)
    arrivals = dict.fromkeys(per_policy, 0)
    task = (scenario, resolved, customers, kernel, draw)
    _warm(task)
    children = np.random.SeedSequence(seed).spawn(replications)
    began = time.perf_counter()
    for r, measured in enumerate(_replications(task, children, jobs)):
        for label, (metrics, count, seconds) in measured.items():
            per_policy[label].append(metrics)
            elapsed[label] += seconds
            arrivals[label] += count
        if progress is not None:
            progress(r)
    channels = [str(c) for c in Channel if any(s.channel == c for s in scenario.segments)]
    out: dict[str, Any] = {
        "scenario": scenario.name,
        "replications": replications,
        "seed": seed,
        "time_unit": scenario.center.time_unit,
        "targets": {
            c: {
                "within": scenario.target_within(c),
                "within_seconds": scenario.target_within(c) * scenario.unit_seconds,
                "share": scenario.target(c).share,
            }
            for c in channels
        },
        "targets_text": scenario.describe_targets(channels),
        "policies": {},
    }
    for label, decider in resolved:
        summary = summarise(per_policy[label])
        entry: dict[str, Any] = {"segments": summary.pop("segments")}
        entry.update(summary)
        entry["arrivals"] = arrivals[label]
        entry["elapsed_s"] = elapsed[label]
        entry["policy"] = {k: getattr(decider, k) for k in ("name", "version", "content_hash") if hasattr(decider, k)}
        out["policies"][label] = entry
    out["elapsed_s"] = time.perf_counter() - began
    return out


_Draw = Callable[[np.random.Generator], pd.DataFrame]
_Task = tuple[Scenario, list[tuple[str, Any]], "pd.DataFrame | None", Kernel, "_Draw | None"]
_TASK: _Task | None = None  # what a forked worker of :func:`_replications` simulates


def _replicate(task: _Task, child: np.random.SeedSequence) -> dict[str, tuple[dict[str, Any], int, float]]:
    """One replication under every policy of ``task``, on contacts drawn from ``child``: per policy label, the
    replication's metrics, its measured arrivals and the seconds it took (the draw included)."""
    import time
    from collections import ChainMap

    from fairserve.sim.metrics import outcome_columns, replication_metrics

    scenario, resolved, customers, kernel, draw = task
    t0 = time.perf_counter()
    rng = np.random.default_rng(child)
    contacts = draw_contacts(scenario, rng, customers, shared=True) if draw is None else draw(rng)
    draw_s = time.perf_counter() - t0
    out = {}
    for label, decider in resolved:
        t1 = time.perf_counter()
        # run_replication, add_outcomes and replication_metrics without building their frames
        drawn = {str(c): contacts[c] for c in contacts.columns}
        # the overtakes are counted on another thread while this one computes the outcomes
        cols = ChainMap(_simulate(scenario, decider, contacts, kernel, _METRIC_DECISIONS, background=True), drawn)
        cols = cols.new_child(outcome_columns(cols, scenario, for_metrics=True))
        measured = int(np.count_nonzero(cols["measured"]))
        out[label] = (replication_metrics(cols), measured, time.perf_counter() - t1 + draw_s)
    return out


def _warm(task: _Task) -> None:
    """Run every policy once on a slice of the scenario (about 50 contacts), before the clock starts.

    numba loads (or, the first time, compiles) its kernels at their first call, for the exact array types it is
    given (read-only pandas columns among them); a slice of the same scenario through the same code passes the
    same types, so the timed run finds them loaded. A replayed log (``draw``) is warmed on a drawn slice.
    """
    scenario = task[0]
    rate = sum(s.arrival_rate * max(s.rate_profile or [1.0]) for s in scenario.segments)
    center = scenario.center.model_copy(update={"duration": min(scenario.center.duration, 50.0 / rate),
                                                "warmup": 0.0})
    _replicate((scenario.model_copy(update={"center": center}), task[1], task[2], task[3], None),
               np.random.SeedSequence(0))


def _worker_start(task: _Task) -> None:
    global _TASK
    _TASK = task


def _worker_replicate(child: np.random.SeedSequence) -> dict[str, tuple[dict[str, Any], int, float]]:
    assert _TASK is not None
    return _replicate(_TASK, child)


def _replications(task: _Task, children: list[np.random.SeedSequence], jobs: int) -> Any:
    """The replications' results in seed order: in this process, or in ``jobs`` forked worker processes.

    multiprocessing is imported only for workers (importing it costs a few ms of a one-replication run).
    """
    jobs = max(1, min(int(jobs), len(children)))
    if jobs > 1:
        import multiprocessing
    if jobs == 1 or "fork" not in multiprocessing.get_all_start_methods():
        for child in children:
            yield _replicate(task, child)
        return
    from concurrent.futures import ProcessPoolExecutor
    # fork: the workers inherit the task (policies, customer base, loaded kernels) instead of unpickling it
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"), initializer=_worker_start,
                             initargs=(task,)) as pool:
        yield from pool.map(_worker_replicate, children)
