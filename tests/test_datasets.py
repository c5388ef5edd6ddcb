from __future__ import annotations

from fairserve import datasets


def test_cdnow_master_has_the_published_size() -> None:
    frame = datasets.cdnow_master()
    assert frame["customer_id"].nunique() == 23_570
    assert len(frame) == 69_659
    assert str(frame["date"].min().date()) == "1997-01-01"
    assert str(frame["date"].max().date()) == "1998-06-30"
    assert frame["customer_id"].iloc[0] == "00001"  # ids are strings and keep their zeros


def test_cdnow_sample_has_the_papers_2357_customers() -> None:
    frame = datasets.cdnow_sample()
    assert frame["customer_id"].nunique() == 2_357
    assert len(frame) == 6_919
    assert frame["amount"].ge(0).all()


def test_data_files_are_read_without_importing_lifetimes() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from fairserve import datasets; datasets.cdnow_sample(); "
        "print('lifetimes' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
