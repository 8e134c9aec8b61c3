"""The charts themselves: seeded random values, the PNG drawn from them and their caption.

Each example is a small PNG (320x240 pixels) of a bar, line or pie chart drawn with
matplotlib's Agg renderer from seeded random values, and a one-sentence caption computed
from the same values. The caption follows a fixed structure, and every word in it can be
read off the picture: the kind of chart, how many bars, points or slices it has, which
one is the largest (by position, or by colour for a pie) and whether the values rise,
fall or go up and down. So a model that learns to caption these charts has to look at
the pixels; nothing else in a record gives the answer away.

The question asked next to each image (:data:`QUESTION`) and the system prompt
(:data:`SYSTEM`) live here too: the records and the model runner send the same ones.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

KINDS = ("bar", "line", "pie")
"""Chart kinds drawn, in the order :func:`make_examples` cycles through them."""

MIN_PARTS, MAX_PARTS = 3, 7
"""Fewest and most bars, points or slices in one chart."""

WIDTH, HEIGHT = 320, 240
"""Size of every chart in pixels."""

PALETTE = {
    "blue": "#1f77b4",
    "orange": "#ff7f0e",
    "green": "#2ca02c",
    "red": "#d62728",
    "purple": "#9467bd",
    "brown": "#8c564b",
    "pink": "#e377c2",
}
"""Named colours of the charts (matplotlib's first seven), in the order pie slices use them."""

BAR_COLOUR, LINE_COLOUR, MARKER_COLOUR = PALETTE["blue"], PALETTE["blue"], PALETTE["orange"]

QUESTION = (
    "Describe this chart in one sentence: its kind, how many values it shows, "
    "which value is the largest and how the values change."
)
"""The question every record asks next to its image."""

SYSTEM = "You are an assistant that describes charts accurately and briefly."
"""System prompt of every record."""

_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven")
_ORDINALS = ("", "first", "second", "third", "fourth", "fifth", "sixth", "seventh")
_PART_NAMES = {"bar": "bars", "line": "points", "pie": "slices"}
_LARGEST = {"bar": "tallest", "line": "highest", "pie": "largest"}

RISING, FALLING = 0.7, -0.7
"""Correlation of the values with their position at or above which a chart is "rising"
(at or below: "falling")."""

MIXED = 0.4
"""Correlation at or below which (in size) a chart is "mixed"; values in between are
redrawn, so no caption hangs on a borderline case a picture cannot settle."""

CLEAR_LEAD = 0.15
"""How far the largest value must lead the runner-up, as a share of the value range (bars
and lines) or of the runner-up (pie slices), so the largest is plain to see."""


@dataclass(frozen=True)
class Chart:
    """One drawn chart and its caption.

    Attributes:
        name: A stable name (``chart-0007``), also the file name of the image.
        kind: ``bar``, ``line`` or ``pie``.
        values: The data drawn, left to right (clockwise from the top for a pie).
        png: The PNG image.
        caption: The one-sentence description, derived from ``kind`` and ``values``.
    """

    name: str
    kind: str
    values: tuple[float, ...]
    png: bytes
    caption: str


# --------------------------------------------------------------------------- captions


def trend(values: Sequence[float] | np.ndarray) -> str | None:
    """``rising``, ``falling`` or ``mixed`` from the values' correlation with their position.

    Returns None for the borderline band between :data:`MIXED` and :data:`RISING`.
    """
    v = np.asarray(values, dtype=float)
    if v.std() == 0:
        return "mixed"
    r = float(np.corrcoef(np.arange(len(v)), v)[0, 1])
    if r >= RISING:
        return "rising"
    if r <= FALLING:
        return "falling"
    return "mixed" if abs(r) <= MIXED else None


def caption(kind: str, values: Sequence[float]) -> str:
    """The caption of a chart of ``kind`` drawing ``values``.

    Raises:
        ValueError: Unknown kind, a count outside 3-7, or values whose trend is borderline.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown chart kind {kind!r}; use one of {', '.join(KINDS)}.")
    n = len(values)
    if not MIN_PARTS <= n <= MAX_PARTS:
        raise ValueError(f"A chart has {MIN_PARTS} to {MAX_PARTS} values, not {n}.")
    peak = int(np.argmax(values))
    opening = f"A {kind} chart with {_NUMBERS[n]} {_PART_NAMES[kind]}; the {_LARGEST[kind]} is"
    if kind == "pie":
        return f"{opening} {list(PALETTE)[peak]}."
    direction = trend(values)
    if direction is None:
        raise ValueError(f"The trend of {list(values)} is borderline; draw other values.")
    return f"{opening} the {_ORDINALS[peak + 1]}, and the values are {direction}."


# --------------------------------------------------------------------------- drawing


def draw(kind: str, values: Sequence[float]) -> bytes:
    """Draw a chart as PNG bytes of :data:`WIDTH` x :data:`HEIGHT` pixels (Agg renderer).

    Bars and points go left to right; pie slices clockwise from twelve o'clock in the
    colours of :data:`PALETTE`. Axes sit at the same place in every chart.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if kind not in KINDS:
        raise ValueError(f"Unknown chart kind {kind!r}; use one of {', '.join(KINDS)}.")
    dpi = 100
    # A Figure of our own, not pyplot: no global state, and the Agg canvas whatever
    # backend the notebook uses.
    fig = Figure(figsize=(WIDTH / dpi, HEIGHT / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    positions = list(range(1, len(values) + 1))
    if kind == "pie":
        ax = fig.add_axes((0.1, 0.05, 0.8, 0.9))
        colours = list(PALETTE.values())[: len(values)]
        ax.pie(values, colors=colours, startangle=90, counterclock=False)
        ax.set_aspect("equal")
    else:
        ax = fig.add_axes((0.12, 0.12, 0.84, 0.82))
        if kind == "bar":
            ax.bar(positions, values, width=0.7, color=BAR_COLOUR)
            ax.set_ylim(0, max(values) * 1.1)
        else:
            ax.plot(
                positions,
                values,
                color=LINE_COLOUR,
                linewidth=1.5,
                marker="o",
                markersize=6,
                markerfacecolor=MARKER_COLOUR,
                markeredgecolor=MARKER_COLOUR,
            )
            ax.set_xlim(0.5, len(values) + 0.5)
        ax.set_xticks(positions)
        ax.tick_params(labelsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def _values(kind: str, n: int, rng: np.random.Generator) -> list[float]:
    """Random values for a chart whose largest value and trend are plain to see."""
    while True:
        if kind == "pie":
            values = rng.uniform(1.0, 10.0, size=n)
            ranked = np.sort(values)
            if ranked[-1] >= ranked[-2] * (1 + CLEAR_LEAD) and ranked[0] >= 0.06 * values.sum():
                return [round(float(v), 1) for v in values]
            continue
        wanted = rng.choice(["rising", "falling", "mixed"])
        if wanted == "mixed":
            values = rng.uniform(1.0, 10.0, size=n)
        else:
            ramp = np.linspace(2.0, 9.0, n) + rng.normal(0.0, 1.2, size=n)
            values = np.clip(ramp if wanted == "rising" else ramp[::-1], 0.5, 10.0)
        values = np.round(values, 1)
        ranked = np.sort(values)
        spread = ranked[-1] - ranked[0]
        if spread <= 0 or ranked[-1] - ranked[-2] < CLEAR_LEAD * spread:
            continue
        if trend(values) == wanted:
            return [float(v) for v in values]


def make_examples(n: int, seed: int = 0, start: int = 0) -> list[Chart]:
    """``n`` charts with captions; the same ``seed`` gives the same charts, byte for byte.

    Kinds take turns (bar, line, pie, bar, ...); the number of values and the values
    themselves are random. ``start`` offsets the names (``chart-<start + i>``), so
    several calls can make disjoint sets.
    """
    if n < 0:
        raise ValueError("n must not be negative.")
    rng = np.random.default_rng(seed)
    charts = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        count = int(rng.integers(MIN_PARTS, MAX_PARTS + 1))
        values = _values(kind, count, rng)
        charts.append(
            Chart(
                name=f"chart-{start + i:04d}",
                kind=kind,
                values=tuple(values),
                png=draw(kind, values),
                caption=caption(kind, values),
            )
        )
    return charts


def split(
    charts: Sequence[Chart], train: int, validation: int
) -> tuple[list[Chart], list[Chart], list[Chart]]:
    """Train, validation and held-out test charts: the first ``train``, the next
    ``validation``, and the rest.

    Raises:
        ValueError: There are not enough charts for ``train`` plus ``validation``.
    """
    if train + validation > len(charts):
        raise ValueError(
            f"{len(charts)} charts cannot give {train} training and {validation} validation ones."
        )
    charts = list(charts)
    return charts[:train], charts[train : train + validation], charts[train + validation :]
