"""Asking a vision model about charts: a Converse runner that sends the image, and a helper.

:class:`ChartRunner` is what :func:`utils.evaluation.compare` scores with; :func:`ask_about`
puts a few charts to several models for a side-by-side look
(:func:`~utils.charts.plots.plot_examples` shows the answers under each chart).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from utils.charts.data import QUESTION, SYSTEM, Chart
from utils.evaluation import ConverseRunner


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
