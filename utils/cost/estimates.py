"""Estimates of what a job or an endpoint will cost, and the guard that makes you say yes.

:func:`training`, :func:`teacher_calls` and :func:`serving` price the quantities a notebook
computes from its data with :func:`prices`: in aws mode from the AWS Price List API
(:mod:`utils.cost.price_list`), otherwise or where it lists nothing from the snapshot
(:mod:`utils.cost.snapshot`). :func:`confirm` lets a billable step through.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from utils import models, sessions
from utils.cost import price_list
from utils.cost.snapshot import (
    IMPORT_PRICES,
    IMPORT_PRICES_AS_OF,
    IMPORT_WINDOW_MINUTES,
    PRICE_FIELDS,
    PRICES,
    PRICES_AS_OF,
    PRICES_SOURCE,
    SNAPSHOT,
    ImportPrices,
    Prices,
    PriceSource,
)
from utils.errors import WorkshopError

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Estimate:
    """Billable items of one step: what, how many, unit price, cost (None: price unknown)."""

    title: str
    rows: list[dict[str, object]] = field(default_factory=list)

    def add(
        self,
        item: str,
        quantity: float,
        unit: str,
        price: float | None,
        per: float,
        source: PriceSource | None = SNAPSHOT,
    ) -> None:
        """Add ``quantity`` of ``unit`` at ``price`` per ``per`` units, taken from ``source``."""
        cost = None if price is None else quantity / per * price
        self.rows.append(
            {
                "item": item,
                "quantity": quantity,
                "unit": unit,
                "price (USD)": "unknown" if price is None else f"{price:g} per {per:g} {unit}",
                "cost (USD)": cost,
                "price source": None if price is None else source,
            }
        )

    @property
    def known_total(self) -> float:
        """The sum of the costs whose price is known."""
        # misc: rows hold object values; "cost (USD)" is always a float or None.
        return float(sum(r["cost (USD)"] or 0.0 for r in self.rows))  # type: ignore[misc]

    @property
    def complete(self) -> bool:
        """Whether every item has a known price."""
        return all(r["cost (USD)"] is not None for r in self.rows)

    @property
    def sources(self) -> list[PriceSource]:
        """The distinct sources of the known prices, in the order the items use them."""
        found: list[PriceSource] = []
        for row in self.rows:
            src = row.get("price source")
            if row["cost (USD)"] is not None and isinstance(src, PriceSource) and src not in found:
                found.append(src)
        return found

    def table(self) -> pd.DataFrame:
        """The items as a table, for display."""
        import pandas as pd

        table = pd.DataFrame(
            self.rows,
            columns=["item", "quantity", "unit", "price (USD)", "cost (USD)", "price source"],
        )
        table["price source"] = [
            str(src) if isinstance(src, PriceSource) else "" for src in table["price source"]
        ]
        return table

    def summary(self) -> str:
        """One line: the known total, whether anything is unpriced and where prices came from."""
        if not self.rows:
            return f"{self.title}: not estimated; see {PRICES_SOURCE} for your Region's prices."
        if all(r["cost (USD)"] is None for r in self.rows):
            return f"{self.title}: price unknown; see {PRICES_SOURCE} for your Region's prices."
        total = f"${self.known_total:,.2f}"
        if not self.complete:
            total = f"at least {total} (some prices unknown: see {PRICES_SOURCE})"
        sources = self.sources
        if not sources:
            return f"{self.title}: {total}."
        named = " and ".join(src.phrase() for src in sources)
        check = ", check them for your Region" if any(s.kind == "snapshot" for s in sources) else ""
        return f"{self.title}: {total}; {named}{check}."


def prices(model_id: str) -> Prices:
    """The prices of a model's family, each from the Price List API (aws mode) or the snapshot.

    In local mode this is the snapshot (all unknown if it lacks the family) and no request is
    sent. In aws mode the Price List is read once per Region and process; a price it does not
    list, or any failure to read it, falls back to the snapshot, and the source of each price
    says so.
    """
    fam = models.family(model_id)
    snapshot = PRICES.get(fam.key, Prices())
    if sessions.current_backend() != "aws":
        return snapshot
    region = sessions.region()
    listed, problem = price_list.listed_prices(fam, region)
    values: dict[str, Any] = {}
    sources: dict[str, PriceSource] = {}
    for name in PRICE_FIELDS:
        if name in listed:
            values[name], sources[name] = listed[name]
        elif getattr(snapshot, name) is not None:
            values[name] = getattr(snapshot, name)
            note = problem or f"not in the AWS Price List API for {region}"
            sources[name] = PriceSource("snapshot", PRICES_AS_OF, note=note)
    return Prices(**values, sources=sources)


def _add_storage(est: Estimate, p: Prices, months: float) -> None:
    """The custom model's storage, a monthly fee until the model is deleted."""
    est.add(
        "custom model storage",
        months,
        "months",
        p.storage_per_month,
        1,
        p.source_of("storage_per_month"),
    )


def training(model_id: str, tokens: int, epochs: int, months_stored: float = 1.0) -> Estimate:
    """A customization job: tokens x epochs at the training price, plus model storage."""
    p = prices(model_id)
    est = Estimate(f"Training {models.family(model_id).name}")
    est.add(
        "training tokens x epochs",
        tokens * epochs,
        "tokens",
        p.training_per_1k_tokens,
        1000,
        p.source_of("training_per_1k_tokens"),
    )
    _add_storage(est, p, months_stored)
    return est


def teacher_calls(model_id: str, input_tokens: int, output_tokens: int) -> Estimate:
    """On-demand calls to a (teacher) model: input and output tokens at its token prices."""
    p = prices(model_id)
    est = Estimate(f"Calls to {models.family(model_id).name}")
    est.add(
        "input tokens",
        input_tokens,
        "tokens",
        p.input_per_1k_tokens,
        1000,
        p.source_of("input_per_1k_tokens"),
    )
    est.add(
        "output tokens",
        output_tokens,
        "tokens",
        p.output_per_1k_tokens,
        1000,
        p.source_of("output_per_1k_tokens"),
    )
    return est


def serving(model_id: str, provisioned: bool, units: int = 1, hours: float = 1.0) -> Estimate:
    """Serving a custom model: model-unit hours for provisioned throughput, else per token."""
    est = Estimate(f"Serving a custom {models.family(model_id).name}")
    if provisioned:
        p = prices(model_id)
        est.add(
            "provisioned model units x hours",
            units * hours,
            "unit-hours",
            p.provisioned_per_unit_hour,
            1,
            p.source_of("provisioned_per_unit_hour"),
        )
    else:
        # Not a list price but how on-demand deployments bill: by token, nothing while idle.
        est.add("on-demand deployment while idle", hours, "hours", 0.0, 1, None)
    return est


RFT_PRICE_NOTE = (
    "No price or billing unit for reinforcement fine-tuning was found in the Amazon Bedrock "
    "pages read on 2026-12-02 (rft-nova-models.html, rft-submit-job.html), nor in the "
    "workshop's price snapshot: it is shown as unknown. Check https://aws.amazon.com/bedrock/"
    "pricing/ for your Region."
)
"""Why the reinforcement fine-tuning estimate has no price."""


def reinforcement(
    model_id: str, prompts: int, samples_per_prompt: int, epochs: int, months_stored: float = 1.0
) -> Estimate:
    """A reinforcement fine-tuning job: the answers it samples and grades, and model storage.

    What the job is billed on was not found (:data:`RFT_PRICE_NOTE`), so the quantities the
    learner controls are shown with their price unknown: answers sampled (prompts x samples
    per prompt x epochs), the grader's work on each, and the model's storage.
    """
    p = prices(model_id)
    answers = prompts * samples_per_prompt * epochs
    est = Estimate(f"Reinforcement fine-tuning {models.family(model_id).name}")
    est.add("answers sampled (prompts x samples x epochs)", answers, "answers", None, 1)
    # Lambda bills requests and GB-seconds; the workshop holds no Lambda prices.
    est.add("answers scored by the grader Lambda", answers, "answers", None, 1)
    _add_storage(est, p, months_stored)
    return est


def billed_minutes(active_minutes: float) -> int:
    """Minutes billed for one burst of calls: whole 5-minute windows, so 1 minute bills 5."""
    if active_minutes <= 0:
        return 0
    # A float such as 10.000000001 from a timer must not bill a third window.
    windows = math.ceil(round(active_minutes / IMPORT_WINDOW_MINUTES, 9))
    return IMPORT_WINDOW_MINUTES * windows


def imported_model(
    units_per_copy: int | None,
    days: float,
    invoked_minutes: float = 0.0,
    *,
    bursts: int = 1,
    copies: int = 1,
    cmu_version: str | None = None,
    prices: ImportPrices | None = None,
) -> Estimate:
    """Importing a model and keeping it ``days``, invoked ``invoked_minutes`` in ``bursts``.

    Storage bills per custom model unit per month (a month counted as 30 days); an active
    copy bills per unit per minute in 5-minute windows, each burst rounded up on its own
    (see :func:`billed_minutes`). Bedrock sets the units when it imports the model
    (``customModelUnitsPerModelCopy``): before that, with ``units_per_copy=None``, the rows
    are per unit and the title says so. How long a copy stays active after the last call
    is not in the pages read (2026-12-02), so only the windows the calls span are counted.

    Args:
        units_per_copy: CMUs per model copy, from GetImportedModel; None before the import.
        days: How long the imported model is kept.
        invoked_minutes: Minutes of calls in all.
        bursts: Separate sessions the minutes are spread over; each bills whole windows.
        copies: Model copies running while it is called (Bedrock scales them with demand).
        cmu_version: ``customModelUnitsVersion``, which picks the price.
        prices: Prices to use instead of the snapshot's (for a quote you have).
    """
    if bursts < 1 or copies < 1:
        raise WorkshopError(
            f"bursts and copies must be at least 1 (got {bursts} and {copies}).",
            "Give the number of separate sessions of calls, and of copies, as whole numbers.",
        )
    p = prices or IMPORT_PRICES.get(cmu_version or "", ImportPrices())
    source = None if prices else PriceSource("snapshot", IMPORT_PRICES_AS_OF)
    units = 1 if units_per_copy is None else units_per_copy
    per = (
        " per custom model unit (Bedrock sets the units at import)"
        if units_per_copy is None
        else ""
    )
    minutes = bursts * billed_minutes(invoked_minutes / bursts) if invoked_minutes > 0 else 0
    est = Estimate(f"Importing a model and keeping it {days:g} days{per}")
    est.add(
        "imported model storage",
        units * days / 30,
        "CMU-months",
        p.storage_per_cmu_month,
        1,
        source,
    )
    est.add(
        f"active copies: {invoked_minutes:g} min of calls in {bursts} burst(s), "
        f"billed as {minutes} min",
        copies * units * minutes,
        "CMU-minutes",
        p.per_cmu_minute,
        1,
        source,
    )
    return est


def confirm(estimate: Estimate, confirm_costs: bool) -> str:
    """Allow a billable step: always on the stand-in, on AWS only with ``confirm_costs``.

    Returns:
        The line to print: the estimate, or why nothing is billed.

    Raises:
        WorkshopError: on AWS when ``confirm_costs`` is False, with the estimate.
    """
    if sessions.current_backend() == "local":
        return f"{estimate.title}: nothing is billed on the local stand-in."
    if not confirm_costs:
        raise WorkshopError(
            f"Not started, because it costs money. {estimate.summary()}",
            "Read the estimate above; if it is acceptable set the parameter "
            "confirm_costs=True (papermill: -p confirm_costs True) and run the cell again.",
        )
    return f"Confirmed. {estimate.summary()}"
