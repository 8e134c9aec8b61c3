"""Where the workshop keeps its files: repository root, state, assets and runs."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The repository root (the folder that holds ``utils/`` and the notebooks)."""

DATA_DIR = ROOT / "data"
"""Datasets bundled with the project."""


def workshop_dir() -> Path:
    """Folder for local, uncommitted workshop files (``WORKSHOP_HOME`` or ``<root>/.workshop``)."""
    return Path(os.environ.get("WORKSHOP_HOME") or ROOT / ".workshop")


def state_path() -> Path:
    """Path of the JSON state file shared by the notebooks (``WORKSHOP_STATE`` overrides it)."""
    override = os.environ.get("WORKSHOP_STATE")
    return Path(override) if override else workshop_dir() / "state.json"


def assets_dir() -> Path:
    """Folder of offline assets (NLTK data, evaluate modules); ``WORKSHOP_ASSETS_DIR`` overrides."""
    override = os.environ.get("WORKSHOP_ASSETS_DIR")
    return Path(override) if override else workshop_dir() / "assets"


def models_dir() -> Path:
    """Folder of open-weight model folders built offline; ``WORKSHOP_MODELS_DIR`` overrides."""
    override = os.environ.get("WORKSHOP_MODELS_DIR")
    return Path(override) if override else assets_dir() / "models"
