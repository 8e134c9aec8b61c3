"""utils.resources: the kinds of resource and the workshop tag, as the state file holds them."""

from __future__ import annotations

import json

from utils import cleanup, resources
from utils.resources import Kind
from utils.state import State


def test_kinds_keep_the_names_existing_state_files_hold() -> None:
    assert [k.value for k in Kind] == [
        "s3-bucket",
        "iam-role",
        "iam-policy",
        "customization-job",
        "custom-model",
        "provisioned-throughput",
        "custom-model-deployment",
        "batch-inference-job",
        "invocation-logging",
    ]


def test_cleanup_knows_every_kind_and_removes_billing_ones_first() -> None:
    assert set(cleanup.ORDER) == set(Kind)
    assert cleanup.ORDER[0] == Kind.THROUGHPUT  # billed by the hour: first to go
    assert cleanup.ORDER.index(Kind.BUCKET) > cleanup.ORDER.index(Kind.LOGGING)


def test_a_recorded_kind_reads_back_as_plain_text(state: State) -> None:
    state.add_resource(Kind.BUCKET, "b1", status="created")
    on_disk = json.loads(state.path.read_text())
    assert on_disk["resources"][0]["kind"] == "s3-bucket"
    assert [r["id"] for r in State(state.path).resources(Kind.BUCKET)] == ["b1"]
    assert State(state.path).resources("s3-bucket") == State(state.path).resources(Kind.BUCKET)


def test_the_tag_marks_the_workshop() -> None:
    assert resources.tags("ws1234ab") == [{"key": "workshop-id", "value": "ws1234ab"}]
