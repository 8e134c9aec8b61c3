"""The hand-copied snapshot of Amazon Bedrock list prices, and the types prices come in.

:data:`PRICES` is what an estimate uses where the AWS Price List API is not read (the local
stand-in), cannot be read, or does not list a price. :class:`PriceSource` says where each
price came from, the snapshot (:data:`SNAPSHOT`, dated :data:`PRICES_AS_OF`) or the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

PRICES_SOURCE = "https://aws.amazon.com/bedrock/pricing/ (US East, N. Virginia)"
PRICES_AS_OF = "2025-06"
"""When the figures below were copied by hand from the pricing page (USD, us-east-1).

They have not been re-read since; treat them as a guide and check the page."""


@dataclass(frozen=True)
class PriceSource:
    """Where a price came from: the Price List API (read on a date) or the snapshot."""

    kind: Literal["price-list", "snapshot"]
    as_of: str
    region: str = ""
    note: str = ""
    """For the snapshot in aws mode: why the Price List API did not give this price."""

    def __str__(self) -> str:
        if self.kind == "price-list":
            return f"AWS Price List API, {self.region}, read {self.as_of}"
        return f"snapshot of {self.as_of}"

    def phrase(self) -> str:
        """How the summary line names this source."""
        if self.kind == "price-list":
            return f"prices from the AWS Price List API for {self.region}, read {self.as_of}"
        note = f"; {self.note}" if self.note else ""
        return f"list prices of {self.as_of} (hand-copied snapshot{note})"


SNAPSHOT = PriceSource("snapshot", PRICES_AS_OF)


@dataclass(frozen=True)
class Prices:
    """Prices of one base model family in USD; None where no source has a figure."""

    training_per_1k_tokens: float | None = None
    storage_per_month: float | None = None
    input_per_1k_tokens: float | None = None
    output_per_1k_tokens: float | None = None
    provisioned_per_unit_hour: float | None = None
    sources: dict[str, PriceSource] = field(default_factory=dict, compare=False, repr=False)
    """Field name to where its price came from; a known price missing here is the snapshot's."""

    def source_of(self, name: str) -> PriceSource | None:
        """Where the price ``name`` came from, or None when it is unknown."""
        if getattr(self, name) is None:
            return None
        return self.sources.get(name, SNAPSHOT)


PRICE_FIELDS = tuple(f.name for f in fields(Prices) if f.name != "sources")

PRICES: dict[str, Prices] = {
    "nova-micro": Prices(0.001, 1.95, 0.000035, 0.00014),
    "nova-lite": Prices(0.002, 1.95, 0.00006, 0.00024),
    "nova-pro": Prices(0.008, 1.95, 0.0008, 0.0032),
    "titan-text-lite": Prices(0.0004, 1.95, 0.00015, 0.0002),
    "titan-text-express": Prices(0.008, 1.95, 0.0002, 0.0006),
}
"""Family key to list prices. Provisioned throughput prices of custom models are quoted per
model and commitment on the pricing page and are not in the snapshot: they show as unknown
(unless the Price List API lists them), and the guard still asks for confirmation because
they bill every hour."""


IMPORT_PRICES_AS_OF = "2026-12-02"
"""When the Custom Model Import billing rule and prices were looked for (see below)."""
IMPORT_COST_SOURCE = (
    "https://docs.aws.amazon.com/bedrock/latest/userguide/import-model-calculate-cost.html"
)
"""'Calculate the cost of running a custom model' (Amazon Bedrock user guide, read
2026-12-02): running copies x custom model units (CMUs) per copy x the price per CMU per
minute, billed in 5-minute windows from the first successful call; the units and their
version (which picks the price) come from GetImportedModel's ``customModelUnits``.

Its formula divides the number of windows by 60, which fits neither a price per minute (a
window is 5 minutes) nor its own text; the workshop bills 5 minutes per window, as the text
says, and flags the disagreement here rather than guess which part is wrong."""
IMPORT_PRICES_SOURCE = "https://aws.amazon.com/bedrock/pricing/ (Custom Model Import section)"
IMPORT_WINDOW_MINUTES = 5
"""Minutes in one billing window of an active imported model copy (IMPORT_COST_SOURCE)."""


@dataclass(frozen=True)
class ImportPrices:
    """Custom Model Import prices of one CMU version in USD; None where no source has one.

    Attributes:
        per_cmu_minute: An active model copy, per custom model unit per minute.
        storage_per_cmu_month: Keeping the imported model, per custom model unit per month
            (the design guide and issue #14 name this charge; the pricing page holds its
            figure).
    """

    per_cmu_minute: float | None = None
    storage_per_cmu_month: float | None = None


IMPORT_PRICES: dict[str, ImportPrices] = {}
"""CMU version (``customModelUnitsVersion``, e.g. ``v1.0``) to its prices. Empty on purpose:
on 2026-12-02 the pricing page's copies read here render every figure client-side, so no
Custom Model Import price could be read, and a price not read is not written down. Every
estimate shows these prices as unknown until someone copies them here with the date."""
