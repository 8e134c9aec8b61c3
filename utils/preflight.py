"""Checks before anything is created: is Bedrock offered here, and can this model be customized."""

from __future__ import annotations

import boto3
import pandas as pd
from botocore.exceptions import ClientError, EndpointConnectionError

from utils import clients, models
from utils.errors import WorkshopError


def bedrock_regions() -> list[str]:
    """Regions where botocore's endpoint data says Amazon Bedrock is offered (no call made)."""
    return sorted(boto3.session.Session().get_available_regions("bedrock"))


def check_region(region: str) -> None:
    """Fail early, with the alternatives, when ``region`` has no Amazon Bedrock."""
    offered = bedrock_regions()
    if region not in offered:
        raise WorkshopError(
            f"Amazon Bedrock is not offered in {region}.",
            f"Set the parameter region to one of: {', '.join(offered)} "
            "(model customization is offered in fewer regions still; us-east-1 and us-west-2 "
            "have the most models).",
        )


def check_customization(model_id: str, customization_type: str) -> pd.DataFrame:
    """Check the region offers ``model_id`` for ``customization_type``; return what it offers."""
    family = models.family(model_id)
    region = clients.region()
    check_region(region)
    try:
        found = clients.client("bedrock").list_foundation_models(
            byCustomizationType=customization_type
        )["modelSummaries"]
    except EndpointConnectionError as err:
        raise WorkshopError(
            f"Could not reach Amazon Bedrock in {region}: {err}.",
            "Check the region and your network, or run with backend='local'.",
        ) from err
    except ClientError as err:
        code = err.response["Error"].get("Code")
        raise WorkshopError(
            f"Listing foundation models failed ({code}): {err.response['Error'].get('Message')}",
            "Your principal needs bedrock:ListFoundationModels; ask your administrator.",
        ) from err
    table = pd.DataFrame(
        [
            {
                "model id": m["modelId"],
                "name": m["modelName"],
                "provider": m["providerName"],
                "lifecycle": m.get("modelLifecycle", {}).get("status", ""),
            }
            for m in found
        ]
    )
    if family.customization_id not in set(table.get("model id", [])):
        offered = ", ".join(table["model id"]) if len(table) else "none"
        raise WorkshopError(
            f"{region} does not offer {family.name} ({family.customization_id}) for "
            f"{customization_type}.",
            f"Pick a region that does (us-east-1 is a safe choice) or one of the models offered "
            f"here: {offered}.",
        )
    return table
