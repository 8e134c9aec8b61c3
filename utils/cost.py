"""What a job or an endpoint will cost before it exists, and a guard that makes you say yes.

Quantities (training tokens x epochs, model-unit hours, teacher tokens) are computed
from the data; prices come from :data:`PRICES`, a snapshot of list prices with its date
and source. Prices change and differ by Region: the table is a guide, the Amazon Bedrock
pricing page is the truth, and a price the table does not have is shown as unknown
rather than guessed. In aws mode nothing billable is created until the notebook
parameter ``confirm_costs`` is True; against the local stand-in nothing is billed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from utils import clients, models
from utils.errors import WorkshopError

PRICES_SOURCE = "https://aws.amazon.com/bedrock/pricing/ (US East, N. Virginia)"
PRICES_AS_OF = "2025-06"
"""When the figures below were copied by hand from the pricing page (USD, us-east-1).

They have not been re-read since; treat them as a guide and check the page."""


@dataclass(frozen=True)
class Prices:
    """List prices of one base model family in USD; None where the snapshot has no figure."""

    training_per_1k_tokens: float | None = None
    storage_per_month: float | None = None
    input_per_1k_tokens: float | None = None
    output_per_1k_tokens: float | None = None
    provisioned_per_unit_hour: float | None = None


PRICES: dict[str, Prices] = {
    "nova-micro": Prices(0.001, 1.95, 0.000035, 0.00014),
    "nova-lite": Prices(0.002, 1.95, 0.00006, 0.00024),
    "nova-pro": Prices(0.008, 1.95, 0.0008, 0.0032),
    "titan-text-lite": Prices(0.0004, 1.95, 0.00015, 0.0002),
    "titan-text-express": Prices(0.008, 1.95, 0.0002, 0.0006),
}
"""Family key to list prices. Provisioned throughput prices of custom models are quoted per
model and commitment on the pricing page and are not in the snapshot: they show as unknown,
and the guard still asks for confirmation because they bill every hour."""


@dataclass
class Estimate:
    """Billable items of one step: what, how many, unit price, cost (None: price unknown)."""

    title: str
    rows: list[dict[str, object]] = field(default_factory=list)

    def add(self, item: str, quantity: float, unit: str, price: float | None, per: float) -> None:
        """Add ``quantity`` of ``unit`` at ``price`` per ``per`` units."""
        cost = None if price is None else quantity / per * price
        self.rows.append(
            {
                "item": item,
                "quantity": quantity,
                "unit": unit,
                "price (USD)": "unknown" if price is None else f"{price:g} per {per:g} {unit}",
                "cost (USD)": cost,
            }
        )

    @property
    def known_total(self) -> float:
        """The sum of the costs whose price is known."""
        return float(sum(r["cost (USD)"] or 0.0 for r in self.rows))  # type: ignore[misc]

    @property
    def complete(self) -> bool:
        """Whether every item has a known price."""
        return all(r["cost (USD)"] is not None for r in self.rows)

    def table(self) -> pd.DataFrame:
        """The items as a table, for display."""
        return pd.DataFrame(
            self.rows, columns=["item", "quantity", "unit", "price (USD)", "cost (USD)"]
        )

    def summary(self) -> str:
        """One line: the known total and whether anything is unpriced."""
        total = f"${self.known_total:,.2f}"
        if not self.complete:
            total = f"at least {total} (some prices unknown: see {PRICES_SOURCE})"
        return f"{self.title}: {total}; list prices of {PRICES_AS_OF}, check them for your Region."


def prices(model_id: str) -> Prices:
    """The snapshot prices of a model's family (all unknown if the snapshot lacks it)."""
    return PRICES.get(models.family(model_id).key, Prices())


def training(model_id: str, tokens: int, epochs: int, months_stored: float = 1.0) -> Estimate:
    """A customization job: tokens x epochs at the training price, plus model storage."""
    p = prices(model_id)
    est = Estimate(f"Training {models.family(model_id).name}")
    est.add("training tokens x epochs", tokens * epochs, "tokens", p.training_per_1k_tokens, 1000)
    est.add("custom model storage", months_stored, "months", p.storage_per_month, 1)
    return est


def teacher_calls(model_id: str, input_tokens: int, output_tokens: int) -> Estimate:
    """On-demand calls to a (teacher) model: input and output tokens at its token prices."""
    p = prices(model_id)
    est = Estimate(f"Calls to {models.family(model_id).name}")
    est.add("input tokens", input_tokens, "tokens", p.input_per_1k_tokens, 1000)
    est.add("output tokens", output_tokens, "tokens", p.output_per_1k_tokens, 1000)
    return est


def serving(model_id: str, provisioned: bool, units: int = 1, hours: float = 1.0) -> Estimate:
    """Serving a custom model: model-unit hours for provisioned throughput, else per token."""
    est = Estimate(f"Serving a custom {models.family(model_id).name}")
    if provisioned:
        price = prices(model_id).provisioned_per_unit_hour
        est.add("provisioned model units x hours", units * hours, "unit-hours", price, 1)
    else:
        est.add("on-demand deployment while idle", hours, "hours", 0.0, 1)
    return est


def confirm(estimate: Estimate, confirm_costs: bool) -> str:
    """Allow a billable step: always on the stand-in, on AWS only with ``confirm_costs``.

    Returns:
        The line to print: the estimate, or why nothing is billed.

    Raises:
        WorkshopError: on AWS when ``confirm_costs`` is False, with the estimate.
    """
    if clients.current_backend() == "local":
        return f"{estimate.title}: nothing is billed on the local stand-in."
    if not confirm_costs:
        raise WorkshopError(
            f"Not started, because it costs money. {estimate.summary()}",
            "Read the estimate above; if it is acceptable set the parameter "
            "confirm_costs=True (papermill: -p confirm_costs True) and run the cell again.",
        )
    return f"Confirmed. {estimate.summary()}"
