"""Showing charts: a grid of images, each above its caption and, if given, models' answers."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from utils.charts.data import Chart

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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
