"""A chart-captioning dataset the workshop draws itself: images and captions from random data.

Each example is a small PNG (320x240 pixels) of a bar, line or pie chart drawn with
matplotlib's Agg renderer from seeded random values, and a one-sentence caption computed
from the same values. The caption follows a fixed structure, and every word in it can be
read off the picture: the kind of chart, how many bars, points or slices it has, which
one is the largest (by position, or by colour for a pie) and whether the values rise,
fall or go up and down. So a model that learns to caption these charts has to look at
the pixels; nothing else in a record gives the answer away.

:func:`to_records` turns examples into ``bedrock-conversation-2024`` records whose user
turn holds the image (by ``s3Location``) and a question, and whose assistant turn holds
the caption; :func:`upload_images` and :func:`upload_records` put both in Amazon S3.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from utils.evaluation import ConverseRunner

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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


# --------------------------------------------------------------------------- records and S3


def image_key(prefix: str, chart: Chart) -> str:
    """The S3 key of a chart's image under ``prefix``."""
    return f"{prefix.strip('/')}/{chart.name}.png".lstrip("/")


def to_record(
    chart: Chart, bucket: str, prefix: str, bucket_owner: str, question: str = QUESTION
) -> dict[str, Any]:
    """One ``bedrock-conversation-2024`` record: the image and question, then the caption."""
    location = {"uri": f"s3://{bucket}/{image_key(prefix, chart)}", "bucketOwner": bucket_owner}
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": SYSTEM}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"image": {"format": "png", "source": {"s3Location": location}}},
                    {"text": question},
                ],
            },
            {"role": "assistant", "content": [{"text": chart.caption}]},
        ],
    }


def to_records(
    charts: Sequence[Chart], bucket: str, prefix: str, bucket_owner: str, question: str = QUESTION
) -> list[dict[str, Any]]:
    """Records for ``charts`` whose images are (to be) uploaded under ``s3://bucket/prefix``.

    Args:
        charts: The charts.
        bucket: The bucket the images go to (the dataset's bucket).
        prefix: Key prefix of the images.
        bucket_owner: The 12-digit account id owning the bucket.
        question: The user's question next to each image.
    """
    return [to_record(c, bucket, prefix, bucket_owner, question) for c in charts]


def upload_images(s3: Any, charts: Sequence[Chart], bucket: str, prefix: str) -> list[str]:
    """Put each chart's PNG at :func:`image_key` with a boto3 S3 client; returns the URIs."""
    uris = []
    for chart in charts:
        key = image_key(prefix, chart)
        s3.put_object(Bucket=bucket, Key=key, Body=chart.png, ContentType="image/png")
        uris.append(f"s3://{bucket}/{key}")
    return uris


def upload_records(s3: Any, records: Sequence[Mapping[str, Any]], bucket: str, key: str) -> str:
    """Put records as a JSON Lines object with a boto3 S3 client; returns its URI."""
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/jsonl")
    return f"s3://{bucket}/{key}"


# --------------------------------------------------------------------------- asking a model


class ChartRunner(ConverseRunner):
    """A :class:`utils.evaluation.ConverseRunner` that shows the model a chart with the question.

    :func:`utils.evaluation.compare` passes each record's ``prompt`` to the runner; here
    the prompt is a chart's name, and the request carries that chart's PNG bytes (which
    Converse accepts for every model that takes images) followed by :data:`QUESTION`.

    Args:
        model_id: A foundation model id, provisioned throughput ARN or deployment ARN.
        charts: The charts the runner may be asked about.
        question: The question sent with each image.
        **options: Further :class:`ConverseRunner` options (``system``, ``max_tokens``, ...).
    """

    def __init__(
        self, model_id: str, charts: Sequence[Chart], question: str = QUESTION, **options: Any
    ) -> None:
        super().__init__(model_id, **options)
        self.images = {c.name: c.png for c in charts}
        self.question = question

    def __repr__(self) -> str:
        return f"ChartRunner(model_id={self.model_id!r}, charts={len(self.images)})"

    def request(self, prompt: str) -> dict[str, Any]:
        """The ``converse`` arguments for the chart named ``prompt``."""
        if prompt not in self.images:
            raise KeyError(f"No chart named {prompt!r}; give ChartRunner the charts it is asked.")
        kwargs = super().request(self.question)
        image = {"image": {"format": "png", "source": {"bytes": self.images[prompt]}}}
        kwargs["messages"][0]["content"].insert(0, image)
        return kwargs


@dataclass(frozen=True)
class Captions:
    """Each model's description of the same charts.

    Attributes:
        by_model: Label to one caption per chart, in the charts' order.
        local: Whether any caption came from the local stand-in rather than Bedrock.
    """

    by_model: dict[str, list[str]]
    local: bool


def ask_about(models: Mapping[str, str], shown: Sequence[Chart], max_tokens: int = 100) -> Captions:
    """Ask every model (label to model id or endpoint ARN) to describe every chart."""
    by_model: dict[str, list[str]] = {}
    local = False
    for label, model_id in models.items():
        runner = ChartRunner(model_id, list(shown), system=SYSTEM, max_tokens=max_tokens)
        replies = [runner.generate_one(chart.name) for chart in shown]
        by_model[label] = [reply.text for reply in replies]
        local = local or any(reply.from_local_standin for reply in replies)
    return Captions(by_model, local)


# --------------------------------------------------------------------------- display


def plot_examples(
    charts: Sequence[Chart],
    captions: Mapping[str, Sequence[str]] | None = None,
    columns: int = 3,
) -> Figure:
    """A grid of charts, each above its caption (and, if given, other models' captions).

    Args:
        charts: The charts to show, in order.
        captions: Extra captions per label, one per chart (for example a model's answers);
            shown under the chart's own caption.
        columns: Charts per row.
    """
    import textwrap

    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    rows = max(1, -(-len(charts) // columns))
    lines = 2 + 2 * len(captions or {})
    fig, axes = plt.subplots(
        rows, columns, figsize=(3.6 * columns, rows * (2.8 + 0.32 * lines)), squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    for i, (chart, ax) in enumerate(zip(charts, axes.flat, strict=False)):
        ax.imshow(mpimg.imread(io.BytesIO(chart.png), format="png"))
        texts = [f"data: {chart.caption}"]
        texts += [f"{label}: {answers[i]}" for label, answers in (captions or {}).items()]
        wrapped = "\n".join(textwrap.fill(t, 48) for t in texts)
        ax.set_title(chart.name, fontsize=8)
        ax.text(0.0, -0.04, wrapped, transform=ax.transAxes, va="top", fontsize=7)
    fig.tight_layout()
    return fig
