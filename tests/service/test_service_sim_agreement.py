"""The simulator and the service agree: the same arrivals, replayed through the service's queues (intake, agents'
`next`, resolve at the same instants) and through the simulator's loop, under the same policy, are handed out in
the same order, wait guarantees included."""

from __future__ import annotations

import heapq

import numpy as np
from service_fixtures import Api

from fairserve.model import Channel, Contact, Customer
from fairserve.policy import decide, load_policy
from fairserve.sim.engine import queue_order, serve


def test_service_and_simulator_hand_out_the_same_arrivals_in_the_same_order(api: Api) -> None:
    rng = np.random.default_rng(11)
    n, agents = 240, 3
    policy = load_policy("balanced")
    customers = [Customer(f"u{k}", clv=float(rng.choice([5.0, 60.0, 400.0])), loyalty=float(rng.uniform(0, 1)))
                 for k in range(40)]
    csv = "customer_id,clv,loyalty\n" + "".join(f"{c.customer_id},{c.clv},{c.loyalty}\n" for c in customers)
    assert api.client.post("/v1/customers/bulk", content=csv,
                           headers={**api.h(), "content-type": "text/csv"}).json()["upserted"] == 40
    t0 = api.clock()
    arrival = t0 + np.cumsum(rng.exponential(20.0, n))  # about 3 a minute against 3 agents of ~70 s: queues form
    service = rng.gamma(2.0, 35.0, n)
    channel = rng.choice(["phone", "chat"], n)
    who_c = rng.integers(0, 40, n)
    severity = rng.integers(0, 4, n)
    # the simulator: the policy's decisions as arrays, the reference loop
    decisions = [decide(Contact(f"x{i}", Channel(str(channel[i])), float(arrival[i]), customer_id=f"u{who_c[i]}",
                                severity=int(severity[i]), sentiment=0.0), customers[int(who_c[i])], policy,
                        float(arrival[i])) for i in range(n)]
    rank = np.array([d.key.rank for d in decisions])
    va = np.array([d.key.virtual_arrival for d in decisions])
    guarantee = np.array([d.guarantee_seconds for d in decisions])
    who, order = queue_order(rank, va, arrival)
    start = serve(arrival, order, who, service, np.full(n, np.inf), agents, kernel="python", guarantee=guarantee)
    sim_order = [int(i) for i in np.argsort(start, kind="stable")]
    assert np.all(np.isfinite(start))
    # the service: the same instants, through HTTP
    ids: dict[str, int] = {}
    handed: list[int] = []
    busy: list[tuple[float, str, str]] = []  # (completion, agent, contact id)
    free = [f"agent{k}" for k in range(agents)]

    def take(agent: str, now: float) -> bool:
        api.clock.t = now
        r = api.client.post(f"/v1/agents/{agent}/next", headers=api.h("agent"))
        if r.status_code == 204:
            return False
        i = ids[r.json()["id"]]
        handed.append(i)
        heapq.heappush(busy, (now + float(service[i]), agent, r.json()["id"]))
        return True

    i = 0
    while i < n or busy:
        t_arr = float(arrival[i]) if i < n else np.inf
        if busy and busy[0][0] <= t_arr:
            tc, agent, cid = heapq.heappop(busy)
            api.clock.t = tc
            assert api.client.post(f"/v1/contacts/{cid}/resolve", headers=api.h("agent")).status_code == 200
            if not take(agent, tc):
                free.append(agent)
        else:
            api.clock.t = t_arr
            r = api.client.post("/v1/contacts", json={"channel": str(channel[i]), "customer_id": f"u{who_c[i]}",
                                                      "severity": int(severity[i]), "sentiment": 0.0,
                                                      "complaint": False, "arrival": t_arr,
                                                      "external_id": f"x{i}"}, headers=api.h("intake"))
            assert r.status_code == 201
            assert r.json()["decision"]["key"]["virtual_arrival"] == decisions[i].key.virtual_arrival
            ids[r.json()["id"]] = i
            if free:
                assert take(free.pop(0), t_arr)
            i += 1
    assert handed == sim_order
    forced = sum(1 for x in api.client.get("/v1/audit?limit=1000", headers=api.h()).json()
                 if x["action"] == "contact_assigned" and x["detail"]["by_guarantee"])
    assert forced > 0  # the guarantee took part, in both
    assert handed != sorted(range(n), key=lambda j: arrival[j])  # and the policy reordered the queue
