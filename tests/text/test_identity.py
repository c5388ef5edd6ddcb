import pandas as pd

from fairserve.text.identity import link_posts

CUSTOMERS = pd.DataFrame({
    "customer_id": ["C1", "C2", "C3", "C4"],
    "handle": ["@Alice", None, None, None],
    "email": [None, "bob@example.com", "shared@example.com", "shared@example.com"],
    "phone": [None, None, "+44 20 7946 0000", None],
})


def test_each_kind_of_evidence_links_and_is_recorded() -> None:
    posts = pd.DataFrame({
        "handle": ["alice", "@someone", "@caller", "@x"],
        "profile": ["", "write to Bob@Example.com", "call me on 020 7946 0000", ""],
    })
    links = pd.DataFrame({"handle": ["@x"], "customer_id": ["C2"]})
    out = link_posts(posts, CUSTOMERS, links)
    assert list(out["customer_id"]) == ["C1", "C2", "C3", "C2"]
    assert list(out["link"]) == ["declared handle", "email in profile", "phone in profile", "confirmed"]
    assert "bob@example.com" in out.loc[1, "evidence"]


def test_confirmed_link_wins_over_a_declared_handle() -> None:
    posts = pd.DataFrame({"handle": ["@alice"]})
    out = link_posts(posts, CUSTOMERS, pd.DataFrame({"handle": ["alice"], "customer_id": ["C4"]}))
    assert out.loc[0, "customer_id"] == "C4" and out.loc[0, "link"] == "confirmed"


def test_an_email_two_customers_share_links_neither_and_says_so() -> None:
    out = link_posts(pd.DataFrame({"handle": ["@z"], "profile": ["shared@example.com"]}), CUSTOMERS)
    assert out.loc[0, "customer_id"] is None and out.loc[0, "link"] == "guest"
    assert out.loc[0, "evidence"].startswith("ambiguous")


def test_unmatched_posts_stay_guests() -> None:
    out = link_posts(pd.DataFrame({"handle": ["@nobody", None]}), CUSTOMERS)
    assert list(out["link"]) == ["guest", "guest"] and out["customer_id"].isna().all()
