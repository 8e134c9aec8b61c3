"""Prices from the AWS Price List API: reading a Region's Bedrock products and parsing them.

:func:`listed_prices` reads ``pricing:GetProducts`` (service code ``AmazonBedrock``) once
per Region and process and picks out a model family's training, storage, on-demand token
and provisioned throughput prices, normalised to the units of
:class:`~utils.cost.snapshot.Prices`. Any failure to read the list is remembered and
returned as a problem rather than raised: an estimate then falls back to the snapshot.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from utils import models, sessions
from utils.cost.snapshot import PriceSource
from utils.errors import error_code

PRICE_LIST_REGION = "us-east-1"
"""Where the Price List API is served (it also lives in ap-south-1 and eu-central-1 only);
it answers for every Region, which is chosen with the ``regionCode`` filter."""
PRICE_LIST_SERVICE_CODE = "AmazonBedrock"
_MAX_PAGES = 200
"""Stops a NextToken that never ends; a Region's Bedrock products fill about a dozen pages."""


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


def pricing_client() -> Any:
    """A client of the Price List API; short timeouts, as an estimate must not hang a notebook."""
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 3},
        user_agent_extra=sessions.USER_AGENT,
        connect_timeout=5,
        read_timeout=30,
    )
    return sessions.session(PRICE_LIST_REGION).client("pricing", config=config)


def today() -> str:
    """Today's date in UTC, which a price read from the list is dated with."""
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
            for page in _pages(pricing_client(), region)
            for item in page
        ]
        found = _PriceList(tuple(products), today())
    except ClientError as exc:
        code = error_code(exc)
        if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
            problem = (
                "the AWS Price List API denied access: for current prices allow "
                "pricing:GetProducts, then call cost.clear_price_cache()"
            )
        else:
            problem = f"the AWS Price List API could not be read ({code or exc}){_RETRY}"
        found = _PriceList((), today(), problem)
    # Any other failure (no network, no credentials, an answer of an unexpected shape) must
    # not stop an estimate: it falls back to the snapshot and the summary says why.
    except (BotoCoreError, ValueError, TypeError, KeyError, AttributeError) as exc:
        found = _PriceList((), today(), f"the AWS Price List API could not be read ({exc}){_RETRY}")
    _PRICE_LISTS[region] = found
    return found


def listed_prices(
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
