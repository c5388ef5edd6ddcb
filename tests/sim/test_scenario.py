"""Scenario files: the documented keys load, bad values are named, and the draws follow their laws."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairserve.errors import FairserveError
from fairserve.sim.scenario import ScenarioError, draw_contacts, load_scenario, scenario_from_dict

DOC_EXAMPLE = """
[center]
agents = 50          # number of agents
duration = 20000.0   # simulated time after warm-up, in the same unit as the rates
warmup = 500.0
[[segments]]
name = "gold"
arrival_rate = 15.0  # Poisson, contacts per time unit
handle_mean = 1.0    # exponential unless the segment says otherwise
patience_mean = 2.0  # exponential; leave out for infinitely patient customers
tier = "gold"        # optional fixed tier
"""


def _seg(**kw: object) -> dict[str, object]:
    return {"name": "s", "arrival_rate": 10.0, "handle_mean": 1.0, **kw}


def test_the_documented_example_loads_as_written(tmp_path: Path) -> None:
    path = tmp_path / "centre.toml"
    path.write_text(DOC_EXAMPLE)
    scen = load_scenario(path)
    assert scen.center.agents == 50 and scen.center.time_unit == "minute" and scen.unit_seconds == 60.0
    assert scen.segments[0].tier == "gold" and scen.segments[0].patience_mean == 2.0
    assert scen.name == "centre" and scen.horizon == 20500.0


@pytest.mark.parametrize("name", ["two-tiers.toml", "scored-base.toml"])
def test_shipped_example_scenarios_load(name: str) -> None:
    scen = load_scenario(Path(str(files("fairserve.sim") / "scenarios" / name)))
    assert scen.segments


def test_bad_values_are_named_by_their_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        DOC_EXAMPLE.replace("arrival_rate = 15.0", "arrival_rate = -1").replace("agents = 50", "agents = 0")
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = str(err.value)
    assert str(path) in text and "segments[0].arrival_rate" in text and "center.agents" in text
    assert isinstance(err.value, FairserveError)


def test_unknown_keys_and_duplicate_names_are_refused() -> None:
    with pytest.raises(ScenarioError, match=r"segments\[0\]\.arival_rate"):
        scenario_from_dict({"center": {"agents": 1, "duration": 1.0}, "segments": [{**_seg(), "arival_rate": 1}]})
    with pytest.raises(ScenarioError, match="unique"):
        scenario_from_dict({"center": {"agents": 1, "duration": 1.0}, "segments": [_seg(), _seg()]})


def test_empirical_handling_needs_samples() -> None:
    with pytest.raises(ScenarioError, match="handle_samples"):
        scenario_from_dict({"center": {"agents": 1, "duration": 1.0}, "segments": [_seg(handle="empirical")]})


def test_missing_file_and_bad_toml_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such scenario"):
        load_scenario(tmp_path / "none.toml")
    (tmp_path / "x.toml").write_text("[center\n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(tmp_path / "x.toml")


def test_draws_follow_rates_and_laws() -> None:
    scen = scenario_from_dict(
        {
            "center": {"agents": 1, "duration": 2000.0},
            "segments": [
                _seg(name="a", arrival_rate=5.0, handle="lognormal", handle_mean=2.0, handle_cv=0.5, patience_mean=3.0),
                _seg(name="b", arrival_rate=2.0, handle="empirical", handle_samples=[1.0, 4.0]),
                _seg(name="c", arrival_rate=4.0, rate_profile=[0.0, 1.0]),
            ],
        }
    )
    f = draw_contacts(scen, np.random.default_rng(0))
    assert np.all(np.diff(f["t"].to_numpy()) >= 0) and f["contact_id"].tolist() == list(range(len(f)))
    counts = f["segment"].value_counts()
    for name, mean in (("a", 10_000), ("b", 4_000), ("c", 4_000)):  # c: rate 4 on half the horizon
        assert abs(counts[name] - mean) < 4 * np.sqrt(mean)
    a = f[f["segment"] == "a"]
    assert a["handle"].mean() == pytest.approx(2.0, rel=0.03)
    assert a["handle"].std() / a["handle"].mean() == pytest.approx(0.5, rel=0.05)
    assert a["patience"].mean() == pytest.approx(3.0, rel=0.04)
    assert set(f.loc[f["segment"] == "b", "handle"]) == {1.0, 4.0}
    assert np.isinf(f.loc[f["segment"] == "b", "patience"]).all()
    assert f.loc[f["segment"] == "c", "t"].min() >= 1000.0  # the first half has multiplier 0
    np.testing.assert_allclose(f["arrival"], f["t"] * 60.0)


def test_customers_are_drawn_from_the_base_by_propensity() -> None:
    base = pd.DataFrame(
        {
            "customer_id": ["007", "008"],
            "clv": [10.0, 20.0],
            "influence": [0.1, 0.9],
            "followers": [5, 5000],
            "contact_propensity": [1.0, 3.0],
        }
    )
    seg = _seg(customers="base", sampling="propensity")
    scen = scenario_from_dict({"center": {"agents": 1, "duration": 1000.0}, "segments": [seg]})
    f = draw_contacts(scen, np.random.default_rng(1), base)
    share = (f["customer_id"] == "008").mean()
    assert share == pytest.approx(0.75, abs=0.02)
    assert set(f["customer_id"].astype(str)) == {"007", "008"}  # ids keep their zeros
    assert (f.loc[f["customer_id"] == "008", "reach"] == 5000).all()  # followers are the reach
    with pytest.raises(ScenarioError, match="customer base"):
        draw_contacts(scen, np.random.default_rng(1), None)


def test_fixed_tiers_in_scenario_order() -> None:
    segs = [_seg(name="x", tier="silver"), _seg(name="y", tier="gold"), _seg(name="z", tier="silver")]
    scen = scenario_from_dict({"center": {"agents": 1, "duration": 1.0}, "segments": segs})
    assert scen.fixed_tiers() == ["silver", "gold"]


@pytest.mark.parametrize("segments", [1, 2, 5, 20])
def test_segment_of_a_point_equals_a_binary_search_on_the_shares(segments: int) -> None:
    from fairserve.sim.scenario import _segment_of

    rng = np.random.default_rng(segments)
    peaks = rng.uniform(0.5, 3.0, segments)
    edges = np.cumsum(peaks) / peaks.sum()
    u = np.concatenate([rng.uniform(size=20_000), edges, np.nextafter(edges, 0), [0.0, np.nextafter(1.0, 0)]])
    want = np.minimum(np.searchsorted(edges, u, side="right"), segments - 1)
    got = _segment_of(u, edges)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.int64 and set(np.unique(got)) == set(range(segments))


def test_a_value_shared_by_all_segments_fills_the_column_and_different_values_follow_the_segment() -> None:
    segs = [_seg(name="a", severity=2, sentiment=-0.5), _seg(name="b", severity=2, channel="chat")]
    f = draw_contacts(
        scenario_from_dict({"center": {"agents": 1, "duration": 50.0}, "segments": segs}), np.random.default_rng(2)
    )
    assert (f["severity"] == 2).all() and f["severity"].dtype == np.int64
    a = (f["segment"] == "a").to_numpy()
    assert a.any() and (~a).any()
    assert (f.loc[a, "sentiment"] == -0.5).all() and f.loc[~a, "sentiment"].isna().all()
    assert (f.loc[a, "channel"] == "phone").all() and (f.loc[~a, "channel"] == "chat").all()


def test_a_shipped_example_loads_by_name_from_any_folder(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fairserve.sim.scenario import ScenarioError, builtin_scenarios, load_scenario

    monkeypatch.chdir(tmp_path)
    assert {"demo-week", "two-tiers", "scored-base"} <= set(builtin_scenarios())
    assert load_scenario("demo-week").name == "demo-week"
    assert load_scenario("two-tiers.toml").center.agents == 50
    (tmp_path / "two-tiers.toml").write_text("[center]\nagents = 3\nduration = 10.0\n[[segments]]\nname = 'a'\n"
                                             "arrival_rate = 1.0\nhandle_mean = 1.0\n")
    assert load_scenario("two-tiers.toml").center.agents == 3  # a file of the user's wins over the example
    import pytest

    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario("no-such-scenario.toml")


def test_scenario_files_are_read_through_io_with_messages_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"is a folder, not a scenario file"):
        load_scenario(tmp_path)
    (tmp_path / "latin.toml").write_bytes("name = 'caf\xe9'\n".encode("latin-1"))
    with pytest.raises(ScenarioError, match=r"latin\.toml: not UTF-8 text: byte 0xe9 at byte offset 11, line 1"):
        load_scenario(tmp_path / "latin.toml")
    (tmp_path / "bom.toml").write_bytes(b"\xef\xbb\xbf" + DOC_EXAMPLE.encode())
    assert load_scenario(tmp_path / "bom.toml").center.agents == 50  # an editor's byte-order mark is fine


def test_targets_take_numbers_in_the_time_unit_or_durations_and_default_per_channel() -> None:
    scen = scenario_from_dict(
        {
            "center": {"agents": 1, "duration": 1.0, "time_unit": "second"},
            "segments": [_seg(), _seg(name="vip", sla=5.0)],
            "targets": {"phone": {"within": 30, "share": 0.9}, "chat": {"within": "2m"}},
        }
    )
    assert scen.target_within("phone") == 30.0 and scen.target("phone").share == 0.9
    assert scen.target_within("chat") == 120.0 and scen.target("chat").share == 0.8
    assert scen.target_within("email") == 86_400.0 and scen.target_within("social") == 3_600.0  # defaults
    assert scen.segment_within() == [30.0, 5.0]  # a segment's own sla overrides its channel's target
    text = scen.describe_targets(["phone", "chat"])
    assert text == "phone 90% in 30 s, chat 80% in 2 min (segments' own: vip in 5 s)"
    plain = scenario_from_dict({"center": {"agents": 1, "duration": 1.0}, "segments": [_seg()]})
    assert plain.describe_targets() == "phone 80% in 20 s, email 80% in 24 h, chat 80% in 1 min, social 80% in 1 h"
    assert plain.target_within("phone") == pytest.approx(1 / 3)  # minutes


@pytest.mark.parametrize(
    ("targets", "field"),
    [
        ({"fax": {"within": 1.0}}, "targets.fax"),
        ({"phone": {"within": "soon"}}, "targets.phone"),
        ({"phone": {"within": 0}}, "targets.phone"),
        ({"phone": {"within": 1.0, "share": 1.5}}, "targets.phone.share"),
    ],
)
def test_bad_targets_are_named(targets: dict[str, object], field: str) -> None:
    with pytest.raises(ScenarioError, match=field.replace(".", r"\.")):
        scenario_from_dict({"center": {"agents": 1, "duration": 1.0}, "segments": [_seg()], "targets": targets})


def test_public_and_account_are_drawn_for_every_contact() -> None:
    base = pd.DataFrame({"customer_id": ["1", "2", "3"], "account": ["ACME", None, "Initech"], "clv": [1.0, 2, 3]})
    segs = [
        _seg(name="call", customers="base"),
        _seg(name="post", channel="social", customers="base"),
        _seg(name="letter", public=True, account="Globex"),
        _seg(name="quiet-post", channel="social", public=False),
    ]
    f = draw_contacts(scenario_from_dict({"center": {"agents": 1, "duration": 200.0}, "segments": segs}),
                      np.random.default_rng(4), base)  # fmt: skip
    public = f.groupby("segment", observed=True)["public"].agg(["min", "max"])
    assert public.loc["call"].tolist() == [False, False] and public.loc["post"].tolist() == [True, True]
    assert public.loc["letter"].tolist() == [True, True] and public.loc["quiet-post"].tolist() == [False, False]
    assert f["public"].dtype == bool
    acct = f["account"].astype(object)
    from_base = f["segment"].isin(["call", "post"])
    want = f.loc[from_base, "customer_id"].astype(str).map({"1": "ACME", "2": "?", "3": "Initech"})
    assert (acct[from_base].fillna("?") == want).all()  # the base's account; None is unknown
    assert set(want) == {"ACME", "?", "Initech"}
    assert (acct[f["segment"] == "letter"] == "Globex").all() and acct[f["segment"] == "quiet-post"].isna().all()
    assert isinstance(f["account"].dtype, pd.CategoricalDtype)


def test_a_shared_value_can_be_one_read_only_value_for_the_simulator_and_users_get_their_own_arrays() -> None:
    """Asked for (the simulator's own frames), without a customer base or texts, a column every contact shares
    takes no memory per contact (a read-only view of one value), with the same values as the user's frame,
    whose arrays are its own and editable; patience without a law is inf everywhere."""
    segs = [_seg(name="a", severity=2), _seg(name="b", severity=2, tier="gold")]
    scen = scenario_from_dict({"center": {"agents": 1, "duration": 50.0}, "segments": segs})
    own = draw_contacts(scen, np.random.default_rng(4), shared=True)
    f = draw_contacts(scen, np.random.default_rng(4))
    pd.testing.assert_frame_equal(own, f)
    for col in ("severity", "sentiment", "reach", "complaint", "public", "parent"):
        assert own[col].to_numpy().strides == (0,) and f[col].to_numpy().strides != (0,), col
    assert f["sentiment"].isna().all() and (f["parent"] == -1).all() and np.isinf(f["patience"]).all()
    assert (f["segment"] == "b").any() and f.loc[f["segment"] == "b", "status"].eq("gold").all()
    f.loc[0, "severity"] = 5
    assert f["severity"].iloc[0] == 5 and (f["severity"].iloc[1:] == 2).all()
    with_base = [{**segs[0], "customers": "base"}, segs[1]]  # a base writes into the columns: arrays of their own
    base = pd.DataFrame({"customer_id": ["c1", "c2"], "clv": [1.0, 2.0]})
    drawn = draw_contacts(scenario_from_dict({"center": {"agents": 1, "duration": 50.0}, "segments": with_base}),
                          np.random.default_rng(4), base, shared=True)
    assert drawn["severity"].to_numpy().strides != (0,)
