"""Utilities behind the Amazon Bedrock model-customization workshop notebooks.

Each module has one job; notebooks import the modules they need, for example
``from utils import jobs``. Nothing heavy is imported here so that
``import utils`` stays fast.
"""

__all__ = [
    "cleanup",
    "clients",
    "datasets",
    "deploy",
    "evaluation",
    "iam",
    "inference",
    "jobs",
    "s3",
    "state",
    "validation",
]
