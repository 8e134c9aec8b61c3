"""Which tests the new-account lane keeps (tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import meets_the_account


class _Item:
    """Just what meets_the_account reads of a pytest item."""

    def __init__(self, fixtures: set[str], markers: set[str]) -> None:
        self.fixturenames = sorted(fixtures)
        self._markers = markers

    def get_closest_marker(self, name: str) -> Any:
        return object() if name in self._markers else None


@pytest.mark.parametrize(
    ("fixtures", "markers", "kept"),
    [
        ({"standin", "aws"}, set(), True),  # meets the session stand-in's default account
        ({"standin", "established"}, set(), False),  # pins an account of its own
        ({"tmp_path"}, set(), False),  # meets no stand-in
        ({"tmp_path"}, {"own_standin"}, True),  # starts one that reads the lane's account
        ({"standin", "aws"}, {"same_in_every_account"}, False),  # e.g. Custom Model Import
        ({"tmp_path"}, {"own_standin", "same_in_every_account"}, True),
    ],
)
def test_the_lane_keeps_what_the_account_can_change(
    fixtures: set[str], markers: set[str], kept: bool
) -> None:
    assert meets_the_account(_Item(fixtures, markers)) is kept  # type: ignore[arg-type]
