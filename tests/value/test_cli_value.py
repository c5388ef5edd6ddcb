"""``fairserve value fit`` and ``score`` end to end on CDNOW, and their exit code 2 on bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_helpers import run_cli as run
from cli_helpers import write_cdnow_csv
from fairserve.datasets import cdnow_sample

FIT = ["--period", "week", "--calibration-end", "1997-09-30"]




@pytest.fixture(scope="module")
def log_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cdnow_csv(tmp_path_factory.mktemp("cli") / "cdnow.csv")


def test_fit_json_gives_the_published_bgnbd_parameters(
    log_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model.json"
    code, out, err = run(["value", "fit", str(log_csv), *FIT, "--json", "--out", str(model)], capsys)
    assert code == 0, err
    payload = json.loads(out)
    params = payload["params"]
    # Fader, Hardie & Lee (2005), CDNOW sample, 39-week calibration
    assert [round(params[k], 3) for k in ("r", "alpha", "a", "b")] == [0.243, 4.414, 0.793, 2.426]
    assert payload["model"] == "bgnbd" and payload["customers"] == 2357
    assert payload["log_likelihood"] == pytest.approx(-9582.4, abs=0.1)
    # Fader & Hardie (2013), "The Gamma-Gamma model of monetary value": p=6.25, q=3.74, gamma=15.44
    spend = payload["spend"]["params"]
    assert [round(spend[k], 2) for k in ("p", "q", "gamma")] == [6.25, 3.74, 15.44]
    saved = json.loads(model.read_text())
    assert saved["period"] == "week" and saved["calibration_end"] == "1997-09-30"
    assert saved["columns"] == {"customer": "customer_id", "date": "date", "amount": "amount"}
    assert saved["transaction_model"]["params"] == pytest.approx(params)
    assert saved["spend_model"]["params"] == pytest.approx(spend)
    assert payload["cautions"] == []  # 2,357 customers: enough, and the published parameters are not extreme
    assert "caution" not in err


def test_fit_paretonbd_with_renamed_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = cdnow_sample().rename(columns={"customer_id": "cust", "date": "day", "amount": "total"})
    path = tmp_path / "renamed.parquet"
    log.to_parquet(path)
    code, out, err = run(["value", "fit", str(path), *FIT, "--model", "paretonbd", "--customer-col", "cust",
                          "--date-col", "day", "--amount-col", "total", "--json"], capsys)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["model"] == "paretonbd" and set(payload["params"]) == {"r", "alpha", "s", "beta"}
    # Fader, Hardie & Lee (2005) report Pareto/NBD on CDNOW: r=0.55, alpha=10.58, s=0.61, beta=11.67
    assert [round(payload["params"][k], 2) for k in ("r", "alpha", "s", "beta")] == [0.55, 10.58, 0.61, 11.67]


def test_score_writes_one_row_per_customer_with_all_columns(
    log_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model.json"
    assert run(["value", "fit", str(log_csv), *FIT, "--out", str(model)], capsys)[0] == 0
    scores_path = tmp_path / "scores.parquet"
    code, _, err = run(["value", "score", str(log_csv), "--model", str(model), "--out", str(scores_path)], capsys)
    assert code == 0, err
    scores = pd.read_parquet(scores_path)
    assert len(scores) == 2357 and scores["customer_id"].is_unique
    for col in ("customer_id", "frequency", "recency", "T", "monetary_value", "p_alive", "expected_purchases",
                "expected_spend", "clv", "profit", "loyalty", "tenure_years", "active_share", "margin",
                "cost_to_serve", "value_percentile"):
        assert col in scores, col
    assert scores["customer_id"].iloc[0] == "0001"
    assert scores["p_alive"].between(0, 1).all() and scores["loyalty"].between(0, 1).all()
    assert scores["value_percentile"].between(0, 1).all() and scores["value_percentile"].max() == 1.0
    np.testing.assert_allclose(scores["profit"], scores["clv"] * 0.3)
    # the percentile follows CLV
    order = scores.sort_values("clv")
    assert order["value_percentile"].is_monotonic_increasing
    # customer 1 of the paper: x=2, t_x=30.43, T=38.86
    one = scores.iloc[0]
    assert (one["frequency"], round(one["recency"], 2), round(one["T"], 2)) == (2, 30.43, 38.86)


def test_score_with_accounts_status_and_contacts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = cdnow_sample()
    ids = log["customer_id"].astype(int)
    log = log.assign(org=np.where(ids % 3 == 0, "org" + (ids % 7).astype(str), None),
                     tier=np.where(log["amount"] > 30, "gold", "basic"))
    path = tmp_path / "b2b.csv"
    log.to_csv(path, index=False)
    contacts = tmp_path / "contacts.csv"
    pd.DataFrame({"customer_id": ["0001", "0001", "0002"], "channel": ["phone", "email", "phone"],
                  "date": ["1997-01-01", "1997-06-30", "1997-03-01"]}).to_csv(contacts, index=False)
    model = tmp_path / "model.json"
    assert run(["value", "fit", str(path), *FIT, "--out", str(model)], capsys)[0] == 0
    out = tmp_path / "scores.csv"
    accounts = tmp_path / "accounts.csv"
    code, _, err = run(["value", "score", str(path), "--model", str(model), "--out", str(out),
                        "--account-col", "org", "--status-col", "tier", "--contacts", str(contacts),
                        "--channel-cost", "phone=10", "--margin", "0.25", "--accounts-out", str(accounts)], capsys)
    assert code == 0, err
    scores = pd.read_csv(out, dtype={"customer_id": str, "account": str})
    assert {"account", "status", "status_score", "account_clv", "account_customers"} <= set(scores.columns)
    one = scores.set_index("customer_id").loc["0001"]
    assert one["cost_to_serve"] > 0 and one["profit"] == pytest.approx(one["clv"] * 0.25 - one["cost_to_serve"])
    acc = pd.read_csv(accounts)
    assert acc["customers"].sum() == scores["account"].notna().sum()
    assert acc["clv"].sum() == pytest.approx(scores.loc[scores["account"].notna(), "clv"].sum())


@pytest.mark.parametrize(
    ("rows", "extra", "message"),
    [
        ("a,2020-01-01,1\nb,2020-01-02,2\na,2020-01-01,3\n", [],
         "no repeat buyers"),
        ("a,2020-01-01,1\na,2020-02-02,2\n", ["--calibration-end", "2019-12-31"],
         "every transaction is after the calibration end 2019-12-31"),
        ("a,2020-01-01,1\na,2020-02-02,ten\n", [],
         "row 2, field 'amount': 'ten' is not valid"),
        ("a,2020-01-01,1\na,2020-02-02,2\n", ["--amount-col", "revenue"],
         "field 'revenue': no amount column 'revenue'"),
    ],
    ids=["no-repeat-buyers", "all-after-calibration-end", "text-amount", "missing-column"],
)
def test_fit_bad_input_exits_2_with_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: str, extra: list[str], message: str
) -> None:
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\n" + rows)
    code, out, err = run(["value", "fit", str(path), *extra], capsys)
    assert code == 2 and out == ""
    assert str(path) in err and message in err


def test_fit_names_bad_rows_in_file_order_in_check_s_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\nc1,2024-01-01,10\nc2,,5\nc3,2024-01-03,99999999999999999999999999\n"
                    "c4,2024-01-04,abc\nc5,2024-13-01,3\nc6,2024-01-06,-2\n")
    code, _, err = run(["value", "fit", str(path)], capsys)
    err = " ".join(err.split())  # the console wraps long lines
    rows = [int(n) for n in re.findall(r"row (\d+), field", err)]
    assert code == 2 and rows == [2, 3, 4, 5, 6]  # in file order (they came grouped by field)
    assert "row 2, field 'date': required value is empty" in err and "None" not in err
    assert "row 3, field 'amount': '99999999999999999999999999' is too large for an amount" in err
    code, _, err = run(["check", str(path), "--kind", "transactions"], capsys)  # check agrees on the huge amount
    err = " ".join(err.split())
    assert code == 2 and "row 3, field 'amount': amount is too large" in err and "amount is negative: '-2'" in err


def test_skip_bad_rows_skips_a_row_that_is_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """As ``check --skip-bad-rows`` does: the row goes to the side file, the rest is fitted and scored."""
    path = tmp_path / "tx.csv"
    path.write_bytes(b"customer_id,date,amount\nc1,2024-01-01,10\nc\xe92,2024-01-02,5\nc1,2024-02-01,3\n"
                     b"c3,2024-01-03,4\nc3,2024-03-03,4\n")
    model, scores = tmp_path / "m.json", tmp_path / "s.csv"
    code, _, err = run(["value", "fit", str(path), "--skip-bad-rows", "--out", str(model)], capsys)
    assert code == 0, err
    code, _, err = run(["value", "score", str(path), "--skip-bad-rows", "--model", str(model), "--out", str(scores)],
                       capsys)
    assert code == 0, err
    assert pd.read_csv(scores)["customer_id"].tolist() == ["c1", "c3"]
    rejected = pd.read_csv(tmp_path / "tx.rejected.csv", encoding="utf-8")
    assert len(rejected) == 1 and "not valid UTF-8" in rejected["_problem"].iloc[0]


def test_score_refuses_a_missing_model_file(log_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["value", "score", str(log_csv), "--model", str(tmp_path / "none.json"),
                        "--out", str(tmp_path / "s.csv")], capsys)
    assert code == 2 and "no such model file" in err


def test_fit_scores_out_gives_exactly_what_fit_then_score_give(
    log_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model.json"
    two_step = tmp_path / "two.parquet"
    assert run(["value", "fit", str(log_csv), *FIT, "--out", str(model)], capsys)[0] == 0
    assert run(["value", "score", str(log_csv), "--model", str(model), "--out", str(two_step),
                "--horizon-months", "6"], capsys)[0] == 0
    one_pass = tmp_path / "one.parquet"
    code, out, err = run(["value", "fit", str(log_csv), *FIT, "--scores-out", str(one_pass), "--horizon-months", "6",
                          "--json"], capsys)
    assert code == 0, err
    payload = json.loads(out)
    pd.testing.assert_frame_equal(pd.read_parquet(one_pass), pd.read_parquet(two_step), check_exact=True)
    assert payload["scores"]["customers"] == 2357 and payload["scores"]["horizon_months"] == 6
    assert payload["scores"]["calibration_end"] == "1997-09-30"
    code, out, _ = run(["value", "fit", str(log_csv), *FIT, "--scores-out", str(tmp_path / "s.txt")], capsys)
    assert code == 2  # refused before the log is read


def test_fit_on_a_handful_of_customers_says_the_parameters_are_weak(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "tiny.csv"
    log.write_text("customer_id,date,amount\nA,2020-01-01,5\nA,2020-01-05,5\nB,2020-01-02,6\n"
                   "C,2020-02-01,7\nC,2020-03-01,7\n")
    code, out, err = run(["value", "fit", str(log), "--json"], capsys)
    assert code == 0, err
    cautions = json.loads(out)["cautions"]
    assert any("only 3 customers, 2 of them repeat buyers" in c for c in cautions)
    assert any("extreme shape parameters" in c for c in cautions)  # a ran off to ~7,900, b to ~1e-4
    assert "caution: only 3 customers" in err


def test_a_fit_that_cannot_predict_is_refitted_with_a_penalty_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three customers drive BG/NBD's maximum-likelihood fit to r ~ 1e7, where the expected purchases overflow:
    the scores were written with empty CLVs and exit 0 (new-user review). Now the fit is redone with lifetimes'
    L2 penalty, the user is told, and every score is a number."""
    log = tmp_path / "tiny.csv"
    log.write_text("customer_id,date,amount\nA,2024-01-01,10\nA,2024-02-01,20\nB,2024-01-05,15\n"
                   "B,2024-03-01,5\nC,2024-02-10,30\n")
    scores, model = tmp_path / "s.csv", tmp_path / "m.json"
    code, out, err = run(["value", "fit", str(log), "--out", str(model), "--scores-out", str(scores), "--json"],
                         capsys)
    assert code == 0, err
    payload = json.loads(out)
    assert any("fitted with an L2 penalty of 0.001" in c for c in payload["cautions"])
    assert payload["params"]["r"] < 1e3  # the unpenalised optimum was r ~ 8.7e6
    saved = json.loads(model.read_text())
    assert saved["transaction_model"]["settings"]["penalizer"] == 0.001
    assert saved["spend_model"]["settings"]["penalizer"] == 0.0  # the spend model could predict unpenalised
    table = pd.read_csv(scores)
    assert table[["p_alive", "expected_purchases", "expected_spend", "clv"]].notna().all().all()


def test_a_fit_no_penalty_rescues_is_refused(cdnow_repeat_spend: tuple[np.ndarray, np.ndarray]) -> None:
    from fairserve.errors import InputError
    from fairserve.value.gammagamma import GammaGammaModel
    from fairserve.value.score import PENALTIES, _predicting_fit

    tried: list[float] = []

    def fit(penalizer: float) -> GammaGammaModel:
        tried.append(penalizer)
        return GammaGammaModel(penalizer=penalizer).fit(*cdnow_repeat_spend)

    with pytest.raises(InputError, match=r"cannot be computed .* and so did the fits with an L2 penalty"):
        _predicting_fit(fit, lambda m: "expected spend", pd.DataFrame({"weight": [3]}), "log.csv")
    assert tried == list(PENALTIES)


def test_score_refuses_a_saved_model_that_cannot_predict(
    log_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "m.json"
    code, _out, err = run(["value", "fit", str(log_csv), *FIT, "--out", str(model)], capsys)
    assert code == 0, err
    record = json.loads(model.read_text())
    record["transaction_model"]["params"].update(r=8.7e6, alpha=4.7e8, a=4034.0, b=0.000248)  # what 3 gave
    model.write_text(json.dumps(record))
    scores = tmp_path / "s.csv"
    code, _out, err = run(["value", "score", str(log_csv), "--model", str(model), "--out", str(scores)], capsys)
    assert code == 2 and "the value model cannot compute 'expected_purchases'" in err
    assert not scores.exists()
