"""The listening report: one self-contained HTML page (inline SVG charts, no scripts, no network) and its picture.

What a decision maker reads, top to bottom: volume and sentiment over time, the topics (rising ones marked), the
top reputational risks (negativity x reach, flagged for the social-care queue, not service priority), and for
each topic a few representative anecdotes (the most typical post of each cluster) with the linked customer's tier
and value where there is one.
"""

from __future__ import annotations

import html
import io
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fairserve.text.listening import Listening

__all__ = ["render_listening", "render_png"]

_RC: Any = {"svg.fonttype": "none", "svg.hashsalt": "fairserve"}
_NEG, _NEU, _POS = "#d62728", "#9e9e9e", "#2ca02c"


def _timeline(fig: Figure, s: Listening, grid: Any = None) -> None:
    t = s.timeline
    ax = fig.add_subplot(grid[0] if grid is not None else 211)
    neg = t["posts"] * t["negative_share"]
    pos = t["posts"] * t["positive_share"]
    neu = t["posts"] - neg - pos
    x = pd.to_datetime(t["period"])
    ax.stackplot(x, neg, neu, pos, colors=[_NEG, _NEU, _POS], labels=["negative", "neutral", "positive"],
                 alpha=0.85)
    ax.set_ylabel("posts")
    ax.set_title("Volume and sentiment over time")
    ax.legend(loc="upper left", fontsize=8, ncol=3)
    ax2 = fig.add_subplot(grid[1] if grid is not None else 212, sharex=ax)
    ax2.plot(x, t["mean_score"], color="#1f77b4")
    ax2.axhline(0, color="#999", lw=0.8)
    ax2.set_ylabel("mean sentiment [-1, 1]")
    fig.autofmt_xdate()


def _topics_chart(fig: Figure, s: Listening, ax: Any = None) -> None:
    ax = ax or fig.add_subplot(111)
    r = s.rising.set_index("topic")
    topics = list(s.topics["topic"])[::-1]
    y = np.arange(len(topics))
    before = r["before_share"].reindex(topics).to_numpy(dtype=float)
    recent = r["recent_share"].reindex(topics).to_numpy(dtype=float)
    ax.barh(y - 0.2, before, height=0.4, color="#aec7e8", label="before")
    ax.barh(y + 0.2, recent, height=0.4, color="#1f77b4", label=f"last {s.recent_days} days")
    ax.set_yticks(y, [f"{t}  ▲ rising" if bool(r.at[t, "rising"]) else t for t in topics], fontsize=8)
    ax.set_xlabel("share of posts")
    ax.set_title(f"Topics: share of posts\nbefore and in the last {s.recent_days} days")
    ax.legend(fontsize=8)


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def render_png(s: Listening, dpi: int = 110) -> bytes:
    """The report's charts as one PNG picture (timeline, sentiment, topics)."""
    fig = png_figure(s)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def png_figure(s: Listening) -> Figure:
    """The figure of :func:`render_png`, laid out so that every title and label is inside it.

    Constrained layout makes room for each axes' title and tick labels (a long rising topic's label narrows the
    topics chart, and its title then no longer fitted under ``tight_layout``).
    """
    fig = Figure(figsize=(11, 8), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=[1.4, 1], height_ratios=[1.4, 1])
    _timeline(fig, s, [grid[0, 0], grid[1, 0]])
    _topics_chart(fig, s, fig.add_subplot(grid[:, 1]))
    fig.suptitle(f"Listening: {s.posts:,} posts, {s.start:%Y-%m-%d} to {s.end:%Y-%m-%d}")
    return fig


def _e(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    return html.escape(str(v))


def _money(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "—"
    return "—" if f != f else f"{f:,.0f}"


def _who(row: pd.Series) -> str:
    if row.get("customer_id") is None or (isinstance(row.get("customer_id"), float)):
        return "guest"
    parts = [f"customer {_e(row['customer_id'])}"]
    if "tier" in row and isinstance(row["tier"], str):
        parts.append(f"tier {_e(row['tier'])}")
    if "clv" in row:
        parts.append(f"value {_money(row['clv'])}")
    return ", ".join(parts) + f" <small>({_e(row.get('link'))}: {_e(row.get('evidence'))})</small>"


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def render_listening(s: Listening, source: str, method: dict[str, str], threshold: float) -> str:
    """The HTML page of a :class:`~fairserve.text.listening.Listening`."""
    fig = Figure(figsize=(9, 5.5))
    grid = fig.add_gridspec(2, 1, height_ratios=[1.6, 1])
    _timeline(fig, s, [grid[0], grid[1]])
    timeline_svg = _svg(fig)
    fig2 = Figure(figsize=(7, max(2.5, 0.45 * len(s.topics) + 1)))
    _topics_chart(fig2, s)
    topics_svg = _svg(fig2)
    rising = s.rising.loc[s.rising["rising"]]
    rising_html = ("<p>No topic is rising.</p>" if rising.empty else "<ul>" + "".join(
        f"<li><b>{_e(r.topic)}</b>: {r.recent_share:.1%} of posts in the last {s.recent_days} days, "
        f"{r.before_share:.1%} before ({r.ratio:.1f}x, z = {r.z:.1f})</li>" for r in rising.itertuples()) + "</ul>")
    topic_rows = [[_e(r.topic), f"{r.posts:,}", f"{r.negative_share:.0%}", f"{r.complaints:,}",
                   f"{r.mean_score:+.2f}"] for r in s.topics.itertuples()]
    risk_rows = [[f"{r['date']:%Y-%m-%d}", _e(r.get("handle")), f"{r['audience']:,.0f}",
                  f"{r['sentiment_score']:+.2f}", f"{r['risk']:.2f}" + (" <b>flag</b>" if r["risk_flag"] else ""),
                  _e(r["topic"]), _e(str(r["text"])[:280]), _who(r)] for _, r in s.risks.iterrows()]
    anecdotes = []
    for topic, group in s.anecdotes.groupby("topic", sort=False):
        items = "".join(
            f"<blockquote>{_e(str(r['text'])[:400])}<footer>{_e(r['sentiment'])} "
            f"({r['sentiment_score']:+.2f}) · {r['date']:%Y-%m-%d} · typical of {r['cluster_share']:.0%} of the "
            f"topic ({int(r['cluster_size'])} posts) · {_who(r)}</footer></blockquote>"
            for _, r in group.iterrows())
        anecdotes.append(f"<h3>{_e(topic)}</h3>{items}")
    how = ", ".join(f"{k}: {_e(v)}" for k, v in method.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Listening report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.9em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 6px; text-align: left; vertical-align: top; }}
blockquote {{ border-left: 4px solid #1f77b4; margin: 0.6em 0; padding: 0.3em 0.8em; background: #f6f8fa; }}
footer {{ font-size: 0.8em; color: #555; margin-top: 0.3em; }}
.note {{ color: #555; font-size: 0.9em; }}
</style></head><body>
<h1>Listening report</h1>
<p>{s.posts:,} posts from <code>{_e(source)}</code>, {s.start:%Y-%m-%d} to {s.end:%Y-%m-%d};
{s.linked:,} linked to a customer, the rest are guests.</p>
<p class="note">Read by: {how}.</p>
<h2>Volume and sentiment over time</h2>{timeline_svg}
<h2>Topics</h2>
<h3>Rising in the last {s.recent_days} days</h3>{rising_html}
{topics_svg}
{_table(["topic", "posts", "negative", "complaints", "mean sentiment"], topic_rows)}
<h2>Top reputational risks</h2>
<p class="note">risk = log10(1 + audience) x negativity, the policy's formula; a public post at {threshold:g} or more
is flagged for the social-care queue. This is not service priority: a policy may add a capped head start, and says
so in its reasons.</p>
{_table(["date", "handle", "audience", "sentiment", "risk", "topic", "post", "who"], risk_rows)}
<h2>Representative anecdotes</h2>
<p class="note">For each topic, the post nearest the centre of each cluster of similar posts: the most typical, not
the most extreme.</p>
{''.join(anecdotes)}
</body></html>
"""
