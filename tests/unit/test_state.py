"""The state file: values, resources, results; safe under concurrency and corruption."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from utils.errors import WorkshopError
from utils.state import State


def test_values_round_trip_and_workshop_id_is_stable(state: State) -> None:
    first_id = state.workshop_id
    state.set("bucket", "my-bucket")
    state.update(region="eu-west-1", sizes={"train": 80})
    reopened = State(state.path)
    assert reopened.get("bucket") == "my-bucket"
    assert reopened.get("sizes") == {"train": 80}
    assert reopened.get("missing", "default") == "default"
    assert reopened.workshop_id == first_id
    assert first_id.startswith("ws") and len(first_id) == 8


def test_require_names_the_notebook_that_records_the_value(state: State) -> None:
    with pytest.raises(WorkshopError) as caught:
        state.require("role_arn")
    assert "00_setup.ipynb" in str(caught.value)
    assert "role_arn" in str(caught.value)


def test_resources_are_recorded_updated_and_removed(state: State) -> None:
    state.add_resource("s3-bucket", "b1", status="creating")
    state.update_resource("s3-bucket", "b1", status="created")
    state.add_resource("iam-role", "r1", arn="arn:aws:iam::1:role/r1")
    assert [r["id"] for r in state.resources()] == ["b1", "r1"]
    assert state.find_resource("s3-bucket", "b1")["status"] == "created"
    state.remove_resource("s3-bucket", "b1")
    assert state.resources("s3-bucket") == []
    assert state.find_resource("iam-role", "r1")["arn"].endswith("role/r1")


def test_results_are_filed_under_the_running_notebook(
    state: State, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKSHOP_NOTEBOOK", "fine-tuning/01.ipynb")
    state.record_result("status", "Completed")
    state.record_result("rougeL", 0.5, notebook="other.ipynb")
    assert state.results("fine-tuning/01.ipynb") == {"status": "Completed"}
    assert state.results()["other.ipynb"] == {"rougeL": 0.5}


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.json"

    def writer(n: int) -> None:
        own = State(path)
        for i in range(25):
            own.add_resource("thing", f"{n}-{i}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(State(path).resources("thing")) == 100
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".state-")] == []


def test_corrupt_file_gives_a_clear_error(state: State) -> None:
    state.path.write_text("{not json", encoding="utf-8")
    with pytest.raises(WorkshopError) as caught:
        state.get("anything")
    assert "not valid JSON" in str(caught.value)
    assert "03_cleanup.ipynb" in str(caught.value)


def test_other_schema_version_is_refused(state: State) -> None:
    state.path.write_text(json.dumps({"version": 99}), encoding="utf-8")
    with pytest.raises(WorkshopError, match="another version"):
        state.get("x")


def test_failed_change_leaves_file_untouched(state: State) -> None:
    state.set("kept", 1)
    before = state.path.read_text()

    def broken(data: dict) -> None:
        data["values"]["kept"] = 2
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        state.mutate(broken)
    assert state.path.read_text() == before


class Place:
    """Where a notebook runs, as utils.clients.Context says."""

    def __init__(self, backend: str, account_id: str, region: str) -> None:
        self.backend, self.account_id, self.region = backend, account_id, region


LOCAL = Place("local", "123456789012", "us-east-1")
MINE = Place("aws", "111122223333", "us-east-1")


def test_the_first_notebook_claims_the_file_and_the_same_place_opens_it(state: State) -> None:
    assert state.owner() is None
    assert state.claim(LOCAL) is state
    state.add_resource("s3-bucket", "b1")
    State(state.path).claim(Place("local", "123456789012", "us-east-1"))
    assert state.owner() == {
        "backend": "local",
        "account_id": "123456789012",
        "region": "us-east-1",
    }


@pytest.mark.parametrize(
    ("first", "other", "named"),
    [
        (LOCAL, MINE, "AWS account 111122223333 in us-east-1"),
        (LOCAL, Place("local", LOCAL.account_id, "us-west-2"), "the local stand-in (Region us-"),
        (MINE, Place("aws", "444455556666", "us-east-1"), "AWS account 444455556666"),
    ],
    ids=["other-backend", "other-region", "other-account"],
)
def test_a_file_with_resources_is_refused_elsewhere_naming_both_and_the_fix(
    state: State, first: Place, other: Place, named: str
) -> None:
    state.claim(first)
    state.add_resource("s3-bucket", "b1")
    owner = state.owner()
    with pytest.raises(WorkshopError) as caught:
        state.claim(other)
    message = str(caught.value)
    assert named in message
    assert f"region={owner['region']!r}" in message
    assert "03_cleanup.ipynb" in message and "WORKSHOP_STATE" in message
    assert state.owner() == owner  # unchanged
    assert [r["id"] for r in state.resources()] == ["b1"]


def test_a_file_without_resources_goes_to_the_new_place_without_old_values(state: State) -> None:
    state.claim(LOCAL)
    state.update(bucket="local-bucket", region="us-east-1")
    state.record_result("scores", {"rougeL": 0.5}, notebook="nb.ipynb")
    state.claim(MINE)  # e.g. after 03_cleanup.ipynb removed everything, or a stopped setup
    assert state.owner() == {"backend": "aws", "account_id": "111122223333", "region": "us-east-1"}
    assert state.get("bucket") is None
    assert state.results("nb.ipynb") == {"scores": {"rougeL": 0.5}}  # the run's record stays


def test_a_file_from_before_owners_goes_to_its_first_opener_and_is_then_bound(
    state: State,
) -> None:
    state.add_resource("s3-bucket", "b1")  # recorded, but no owner: an older workshop's file
    assert state.owner() is None
    state.claim(LOCAL)
    assert state.owner() == {
        "backend": "local",
        "account_id": LOCAL.account_id,
        "region": "us-east-1",
    }
    with pytest.raises(WorkshopError, match="records resources in the local stand-in"):
        state.claim(MINE)
