"""fairserve.text.posts.read_posts: a missing column is named with the option (or field) that names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from fairserve.errors import FairserveError
from fairserve.text.posts import read_posts


@pytest.mark.parametrize(("text_col", "required", "options", "named"), [
    ("text", (), None, "--text-col"),  # the text column's option by default
    ("text", (), {"text": "segments[0].text_column"}, "segments[0].text_column"),  # a scenario's field instead
    ("body", ("label",), {"label": "--label-col"}, "--label-col"),
    ("body", ("group",), {"label": "--label-col"}, "the matching option"),  # a column no one named
])
def test_a_missing_column_names_what_names_it(tmp_path: Path, text_col: str, required: tuple[str, ...],
                                              options: dict[str, str] | None, named: str) -> None:
    f = tmp_path / "posts.csv"
    f.write_text("body,when\nhello,2024-01-01\n")
    missing = required[0] if required else text_col
    with pytest.raises(FairserveError) as info:
        read_posts(f, text_col, required, options)
    assert str(info.value) == f"{f}: no column '{missing}' (the file has: body, when); name it with {named}"


def test_the_columns_asked_for_are_read_as_text(tmp_path: Path) -> None:
    f = tmp_path / "posts.csv"
    f.write_text("body,label\n00042,neg\n")
    frame = read_posts(f, "body", ("label",), {"label": "--label-col"})
    assert frame.loc[1, "body"] == "00042" and frame.loc[1, "label"] == "neg" and list(frame.index) == [1]
