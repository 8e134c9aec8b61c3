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
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import pandas as pd
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from utils import clients, models
from utils.errors import WorkshopError, error_code

PRICES_SOURCE = "https://aws.amazon.com/bedrock/pricing/ (US East, N. Virginia)"
PRICES_AS_OF = "2025-06"
"""When the figures below were copied by hand from the pricing page (USD, us-east-1).

They have not been re-read since; treat them as a guide and check the page."""

PRICE_LIST_REGION = "us-east-1"
"""Where the Price List API is served (it also lives in ap-south-1 and eu-central-1 only);
it answers for every Region, which is chosen with the ``regionCode`` filter."""
PRICE_LIST_SERVICE_CODE = "AmazonBedrock"
_MAX_PAGES = 200
"""Stops a NextToken that never ends; a Region's Bedrock products fill about a dozen pages."""


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
    if clients.current_backend() != "aws":
        return snapshot
    region = clients.region()
    listed, problem = _listed_prices(fam, region)
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
    est.add(
        "custom model storage",
        months_stored,
        "months",
        p.storage_per_month,
        1,
        p.source_of("storage_per_month"),
    )
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


# --- The AWS Price List API ------------------------------------------------------------------
#
# Shape of an AmazonBedrock product, as printed by `aws pricing get-products` in
# https://github.com/aws/aws-cli/issues/9567 (confirmed): `product.attributes` holds
# `regionCode` ("us-east-1"), `location` ("US East (N. Virginia)"), `usagetype`
# ("USE1-Llama3-1-8B-input-tokens-batch", "USE1-Claude2.0-input-tokens"), `feature`
# ("On-demand Inference", "Batch Inference"), `inferenceType` ("Input tokens"), `provider`,
# `model` ("Claude 2.0"); `terms.OnDemand.*.priceDimensions.*` holds `unit` ("1K tokens"),
# `description` and `pricePerUnit.USD` (a decimal string).
#
# Not confirmed from AWS material, only from several independent public price-list parsers
# and their fixtures: customization rows use usagetypes `<prefix>-<Model>-Customization-
# Training` (per 1K tokens) and `-Customization-Storage` (per model and month) with feature
# "Model Customization"; provisioned throughput uses `-ProvisionedThroughput-NoCommit-
# ModelUnits` (unit "hour"), with a `-Custom-` variant for custom models; Titan rows carry
# `titanModel` instead of `model` and usagetypes like `USE1-TitanTextG1-Lite-input-tokens`;
# a few token prices are quoted per 1M tokens. The matcher below therefore accepts several
# spellings, case-insensitively, and reads every unit rather than assuming one.

_LISTED_AS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # family key: (usagetype model segments, `model`/`titanModel` attribute values)
    "nova-micro": (("NovaMicro",), ("Nova Micro",)),
    "nova-lite": (("NovaLite",), ("Nova Lite",)),
    "nova-pro": (("NovaPro",), ("Nova Pro",)),
    "claude-3-haiku": (("Claude3Haiku",), ("Claude 3 Haiku",)),
    "llama-3-1-8b": (("Llama3-1-8B",), ("Llama 3.1 8B", "Llama 3.1 8B Instruct")),
    "llama-3-1-70b": (("Llama3-1-70B",), ("Llama 3.1 70B", "Llama 3.1 70B Instruct")),
    "llama-3-2-1b": (("Llama3-2-1B",), ("Llama 3.2 1B", "Llama 3.2 1B Instruct")),
    "llama-3-2-3b": (("Llama3-2-3B",), ("Llama 3.2 3B", "Llama 3.2 3B Instruct")),
    "llama-3-2-11b": (("Llama3-2-11B",), ("Llama 3.2 11B", "Llama 3.2 11B Instruct")),
    "llama-3-2-90b": (("Llama3-2-90B",), ("Llama 3.2 90B", "Llama 3.2 90B Instruct")),
    "titan-text-lite": (
        ("TitanTextG1-Lite", "TitanTextLite", "TitanText-Lite"),
        ("Titan Text G1 - Lite", "Titan Text Lite"),
    ),
    "titan-text-express": (
        ("TitanTextG1-Express", "TitanTextExpress", "TitanText-Express"),
        ("Titan Text G1 - Express", "Titan Text Express"),
    ),
}
"""How the Price List names each family. ``Llama3-1-8B`` is in the aws-cli issue above; the
Nova, Titan G1 and ``Llama3-1-70B`` spellings recur in public parsers, fixtures and Cost
Explorer usage types but not in AWS material; the Llama 3.2 and Claude 3 Haiku spellings only
follow the pattern. A family the list does not match keeps the snapshot's prices."""

# Variants that are real prices but not the ones an estimate here wants: they must not
# displace the standard on-demand rate of the base model.
_NOT_STANDARD = (
    "batch",
    "flex",
    "priority",
    "cache",
    "cross-region",
    "global",
    "latency",
    "custom-model",
    "customization",
    "provisioned",
    "reserved",
    "image",
    "audio",
    "video",
)


@dataclass(frozen=True)
class _PriceList:
    """The Bedrock products of one Region, or why they could not be read."""

    products: tuple[dict[str, Any], ...]
    read_on: str
    problem: str = ""


_PRICE_LISTS: dict[str, _PriceList] = {}
_RETRY = "; call cost.clear_price_cache() to try again"


def clear_price_cache() -> None:
    """Forget the Price List read in this process (the next aws-mode estimate reads it again)."""
    _PRICE_LISTS.clear()


def _pricing_client() -> Any:
    """A client of the Price List API; short timeouts, as an estimate must not hang a notebook."""
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 3},
        user_agent_extra=clients.USER_AGENT,
        connect_timeout=5,
        read_timeout=30,
    )
    return clients.session(PRICE_LIST_REGION).client("pricing", config=config)


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _pages(client: Any, region: str) -> Iterator[list[str]]:
    """Every page of ``PriceList`` for Bedrock in ``region``, following ``NextToken``."""
    request: dict[str, Any] = {
        "ServiceCode": PRICE_LIST_SERVICE_CODE,
        "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}],
        "MaxResults": 100,
    }
    for _ in range(_MAX_PAGES):
        page = client.get_products(**request)
        yield page.get("PriceList", [])
        token = page.get("NextToken")
        if not token:
            return
        request["NextToken"] = token
    raise ValueError(f"more than {_MAX_PAGES} pages")


def _price_list(region: str) -> _PriceList:
    """The Region's Bedrock products, read once per process; failures are remembered too."""
    if region in _PRICE_LISTS:
        return _PRICE_LISTS[region]
    try:
        products = [
            item if isinstance(item, dict) else json.loads(item)
            for page in _pages(_pricing_client(), region)
            for item in page
        ]
        found = _PriceList(tuple(products), _today())
    except ClientError as exc:
        code = error_code(exc)
        if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
            problem = (
                "the AWS Price List API denied access: for current prices allow "
                "pricing:GetProducts, then call cost.clear_price_cache()"
            )
        else:
            problem = f"the AWS Price List API could not be read ({code or exc}){_RETRY}"
        found = _PriceList((), _today(), problem)
    # Any other failure (no network, no credentials, an answer of an unexpected shape) must
    # not stop an estimate: it falls back to the snapshot and the summary says why.
    except (BotoCoreError, ValueError, TypeError, KeyError, AttributeError) as exc:
        found = _PriceList(
            (), _today(), f"the AWS Price List API could not be read ({exc}){_RETRY}"
        )
    _PRICE_LISTS[region] = found
    return found


def _listed_prices(
    fam: models.ModelFamily, region: str
) -> tuple[dict[str, tuple[float, PriceSource]], str]:
    """The family's prices the Price List gives for ``region``, and why any are missing."""
    price_list = _price_list(region)
    if price_list.problem:
        return {}, price_list.problem
    source = PriceSource("price-list", price_list.read_on, region=region)
    candidates: dict[str, list[tuple[bool, Decimal]]] = {}
    for product in price_list.products:
        try:
            found = _classify(product, fam, region)
        except (AttributeError, TypeError, ValueError):
            continue  # a row of a shape this reader does not know prices nothing
        if found:
            name, preferred, value = found
            candidates.setdefault(name, []).append((preferred, value))
    listed: dict[str, tuple[float, PriceSource]] = {}
    for name, values in candidates.items():
        best = [v for preferred, v in values if preferred] or [v for _, v in values]
        # Several rows for one price (duplicates, re-publications): the highest, so an
        # estimate never understates what may be billed.
        listed[name] = (float(max(best)), source)
    return listed, ""


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _model_part(attrs: dict[str, Any], fam: models.ModelFamily) -> str | None:
    """The usagetype after the family's model segment, or None if the row is another model.

    ``USE1-NovaMicro-input-tokens`` gives ``input-tokens`` for Nova Micro. A row that names
    the family only in its ``model``/``titanModel`` attribute gives the usagetype after its
    Region prefix.
    """
    segments, names = _LISTED_AS.get(fam.key, ((), ()))
    usagetype = str(attrs.get("usagetype") or "").lower()
    rest = usagetype.split("-", 1)[1] if "-" in usagetype else usagetype
    for segment in segments:
        # With a Region prefix ("USE1-") as listed, or without one, in case a Region has none.
        for text in (rest, usagetype):
            if text.startswith(segment.lower() + "-"):
                return text[len(segment) + 1 :]
    labels = {_squash(str(attrs.get(key) or "")) for key in ("model", "titanModel", "modelName")}
    if labels & {_squash(n) for n in names}:
        return rest
    return None


def _classify(
    product: dict[str, Any], fam: models.ModelFamily, region: str
) -> tuple[str, bool, Decimal] | None:
    """Which price of ``fam`` a product gives, whether it is the preferred variant, per unit.

    Returns None for other models, other Regions, variants an estimate does not use and
    units it cannot read.
    """
    attrs = product.get("product", {}).get("attributes", {})
    if attrs.get("regionCode") not in (None, region):
        return None
    part = _model_part(attrs, fam)
    if part is None:
        return None
    dimension = _first_dimension(product)
    if dimension is None:
        return None
    price, unit, description = dimension
    feature = str(attrs.get("feature") or "").lower()
    inference = str(attrs.get("inferenceType") or "").strip().lower()
    flat = _squash(f"{part} {feature}")

    if "customization" in flat and "training" in flat:
        per_1k = _per_1k_tokens(price, unit, description)
        return None if per_1k is None else ("training_per_1k_tokens", True, per_1k)
    if "customization" in flat and "storage" in flat:
        if not _is_per(unit, description, "month"):
            return None
        return "storage_per_month", True, price
    if "provisionedthroughput" in flat and "nocommit" in flat:
        if not _is_per(unit, description, "hour"):
            return None
        # The workshop serves custom models; where a custom-model rate is listed, it wins.
        return "provisioned_per_unit_hour", "custom" in flat, price

    if any(word in part or word in feature for word in _NOT_STANDARD):
        return None
    if feature and "on-demand" not in feature:
        return None
    if inference in ("input tokens", "output tokens"):
        direction = inference.split()[0]
    elif part in ("input-tokens", "output-tokens"):
        direction = part.split("-")[0]
    else:
        return None
    per_1k = _per_1k_tokens(price, unit, description)
    return None if per_1k is None else (f"{direction}_per_1k_tokens", True, per_1k)


def _first_dimension(product: dict[str, Any]) -> tuple[Decimal, str, str] | None:
    """The on-demand price of the first tier: (USD per unit, unit, description)."""
    on_demand = product.get("terms", {}).get("OnDemand", {})
    dimensions = [
        dim for term in on_demand.values() for dim in term.get("priceDimensions", {}).values()
    ]
    dimensions.sort(key=lambda d: str(d.get("beginRange", "0")) not in ("0", ""))
    for dim in dimensions:
        try:
            usd = Decimal(str(dim["pricePerUnit"]["USD"]))
        except (KeyError, TypeError, InvalidOperation):
            continue
        # A zero or negative figure is a placeholder or a free tier, not the rate billed.
        if usd > 0:
            return usd, str(dim.get("unit") or ""), str(dim.get("description") or "")
    return None


_SCALE = {"": 1, "k": 1000, "thousand": 1000, "m": 1_000_000, "million": 1_000_000}
_NUMBER = r"(\d[\d,]*(?:\.\d+)?)?\s*(k|m|thousand|million)?\s*"


def _tokens_per_unit(unit: str, description: str) -> Decimal | None:
    """How many tokens one priced unit is, from the unit ("1K tokens") or the description."""
    for text, pattern in (
        (unit, rf"^\s*{_NUMBER}tokens?\s*$"),
        (description, rf"\bper\s+{_NUMBER}tokens?\b"),
    ):
        match = re.search(pattern, text.lower())
        if match:
            number = Decimal(match.group(1).replace(",", "")) if match.group(1) else Decimal(1)
            return number * _SCALE[match.group(2) or ""]
    return None


def _per_1k_tokens(price: Decimal, unit: str, description: str) -> Decimal | None:
    """``price`` per 1,000 tokens, or None when neither unit nor description names tokens."""
    tokens = _tokens_per_unit(unit, description)
    if not tokens:
        return None
    return price * 1000 / tokens


def _is_per(unit: str, description: str, period: Literal["hour", "month"]) -> bool:
    """Whether the unit (or, failing it, the description) is one ``period``, not data volume."""
    words = {"hour": r"(hours?|hrs?)", "month": r"(months?|mo)"}[period]
    if re.search(rf"\b{words}\b", unit.lower()) and "gb" not in unit.lower():
        return True
    return bool(re.search(rf"\bper\s+(model\s+(unit\s+)?(per\s+)?)?{words}\b", description.lower()))
