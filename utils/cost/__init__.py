"""What a job or an endpoint will cost before it exists, and a guard that makes you say yes.

Quantities (training tokens x epochs, model-unit hours, teacher tokens) are computed
from the data. Prices come from one of two places, and every estimate says which:

- In aws mode, the AWS Price List API (``pricing:GetProducts``, service code
  ``AmazonBedrock``) for the Region the workshop uses, read once per Region and process.
- Otherwise, or when the API cannot be read or does not list a price, :data:`PRICES`:
  a snapshot of list prices copied by hand, with its date and source.

Prices change and differ by Region: the table is a guide, the Amazon Bedrock pricing page
is the truth, and a price neither source has is shown as unknown rather than guessed. In
aws mode nothing billable is created until the notebook parameter ``confirm_costs`` is
True; against the local stand-in nothing is billed and the pricing API is never called.

Notebooks use the names below, as ``cost.training(...)``. They live in
:mod:`~utils.cost.estimates` (the estimates and the guard), :mod:`~utils.cost.price_list`
(reading and parsing the AWS Price List API) and :mod:`~utils.cost.snapshot` (the dated
hand-copied prices).
"""

from __future__ import annotations

from utils.cost.estimates import (
    RFT_PRICE_NOTE,
    Estimate,
    billed_minutes,
    confirm,
    imported_model,
    prices,
    reinforcement,
    serving,
    teacher_calls,
    training,
)
from utils.cost.price_list import PRICE_LIST_REGION, PRICE_LIST_SERVICE_CODE, clear_price_cache
from utils.cost.snapshot import (
    IMPORT_COST_SOURCE,
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

__all__ = [
    "IMPORT_COST_SOURCE",
    "IMPORT_PRICES",
    "IMPORT_PRICES_AS_OF",
    "IMPORT_WINDOW_MINUTES",
    "PRICES",
    "PRICES_AS_OF",
    "PRICES_SOURCE",
    "PRICE_FIELDS",
    "PRICE_LIST_REGION",
    "PRICE_LIST_SERVICE_CODE",
    "RFT_PRICE_NOTE",
    "SNAPSHOT",
    "Estimate",
    "ImportPrices",
    "PriceSource",
    "Prices",
    "billed_minutes",
    "clear_price_cache",
    "confirm",
    "imported_model",
    "prices",
    "reinforcement",
    "serving",
    "teacher_calls",
    "training",
]
