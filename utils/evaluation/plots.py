"""Charts of an :class:`~utils.evaluation.comparison.EvaluationResult`: means, distributions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from utils.evaluation.comparison import EvaluationResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_summary(result: EvaluationResult, title: str | None = None) -> Figure:
    """Bars of each metric's mean, grouped by metric, one colour per model, with CI whiskers."""
    import matplotlib.pyplot as plt
    import numpy as np

    models, metrics = result.models, list(result.metrics)
    mean, low, high = (result.table(s) for s in ("mean", "ci_low", "ci_high"))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(metrics) * max(1, len(models)) / 2), 4))
    width = 0.8 / max(1, len(models))
    x = np.arange(len(metrics))
    for k, model in enumerate(models):
        heights = mean.loc[model].to_numpy(dtype=float)
        errors = np.vstack(
            [heights - low.loc[model].to_numpy(dtype=float), high.loc[model] - heights]
        )
        ax.bar(
            x + (k - (len(models) - 1) / 2) * width,
            np.nan_to_num(heights),
            width,
            yerr=np.nan_to_num(errors),
            capsize=3,
            label=model,
        )
    ax.set_xticks(x, metrics)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean score (95% bootstrap CI)")
    ax.set_title(title or "Scores by model")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    fig.tight_layout()
    return fig


def plot_distributions(result: EvaluationResult, title: str | None = None) -> Figure:
    """One panel per metric with a box plot and the individual scores of each model."""
    import matplotlib.pyplot as plt
    import numpy as np

    models, metrics = result.models, list(result.metrics)
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(3.2 * len(metrics), 3.6), sharey=True, squeeze=False
    )
    jitter = np.random.default_rng(0)
    for ax, metric in zip(axes[0], metrics, strict=True):
        series = []
        for model in models:
            scores = result.per_sample.loc[result.per_sample["model"] == model, metric]
            series.append(scores.dropna().to_numpy(dtype=float))
        ax.boxplot(series, showfliers=False)
        for k, values in enumerate(series, start=1):
            ax.scatter(k + jitter.uniform(-0.12, 0.12, len(values)), values, s=8, alpha=0.5)
        ax.set_xticks(range(1, len(models) + 1), models, rotation=30, ha="right")
        ax.set_title(metric)
        ax.set_ylim(0, 1.05)
    axes[0][0].set_ylabel("score per sample")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
