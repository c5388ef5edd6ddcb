"""Small helpers for messages in plain English: "an intake key", "1 row", "2 rows"."""

from __future__ import annotations

__all__ = ["count", "with_article"]


def with_article(word: str) -> str:
    """``word`` after "a" or "an" by its first letter: ``with_article("intake") == "an intake"``."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular for exactly one: ``count(1, "row") == "1 row"``, ``count(2, "row") == "2 rows"``."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"
