"""Utilities behind the Amazon Bedrock model-customization workshop notebooks.

Each module has one job; notebooks import the modules they need, for example
``from utils import jobs``. Nothing is imported here so that ``import utils`` stays fast.
"""
