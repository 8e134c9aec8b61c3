"""A reminder, under every error a notebook cell raises, of provisioned throughputs still billing.

The public samples' worst bill came from a cell that failed after its throughput was created:
the learner fixed the cell, or gave up, and the throughput kept billing by the hour. Here
every error in a notebook kernel ends with what of the workshop's is still billing by the
hour, for how long it has existed, at what hourly price, and how to remove it.

:func:`utils.clients.use_backend` installs the reminder, so this module gets its Bedrock
client from :mod:`utils.sessions` rather than from :mod:`utils.clients`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from utils import cost, models, sessions
from utils import state as workshop_state
from utils.resources import Kind


def live_throughputs(state: Any) -> list[dict[str, Any]]:
    """The workshop's recorded provisioned throughputs that still exist, as Bedrock has them."""
    found = []
    for rec in state.resources(Kind.THROUGHPUT):
        ident = rec.get("arn") or rec["id"]
        try:
            described = sessions.client("bedrock").get_provisioned_model_throughput(
                provisionedModelId=ident
            )
        except ClientError:
            continue  # gone already, or not created at all
        found.append(described)
    return found


def _hourly(described: dict[str, Any]) -> str:
    family = models.find(described.get("foundationModelArn", "").rsplit("/", 1)[-1])
    if family is None:
        return "at an hourly price the workshop does not know"
    est = cost.serving(family.model_id, provisioned=True, units=described["modelUnits"], hours=1)
    return (
        f"about ${est.known_total:,.2f} an hour"
        if est.complete
        else ("at an hourly price the workshop does not know")
    )


def reminder(state: Any) -> list[str]:
    """Lines saying what still bills by the hour (none when nothing does)."""
    lines = []
    now = datetime.now(UTC)
    for pt in live_throughputs(state):
        created = pt.get("creationTime")
        age = (now - created).total_seconds() / 3600 if created else None
        since = f"for {age:.1f} h" if age is not None else "since an unknown time"
        lines.append(
            f"BILLING: provisioned throughput {pt['provisionedModelName']} ({pt['status']}) has "
            f"existed {since}, {pt['modelUnits']} model unit(s), billed {_hourly(pt)}. It bills "
            f"until deleted: deploy.delete_throughput({pt['provisionedModelArn']!r}, st) removes "
            "it, and so does 03_cleanup.ipynb."
        )
    return lines


def install() -> None:
    """In an IPython kernel, end every error's traceback with :func:`reminder`."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def handler(shell: Any, etype: Any, value: Any, tb: Any, tb_offset: Any = None) -> Any:
        if hasattr(value, "_render_traceback_"):
            stb = value._render_traceback_()
        else:
            stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        try:
            extra = reminder(workshop_state.load())
        except Exception:  # a reminder must never hide the error it follows
            extra = []
        # IPython shows nothing for a custom handler; send the error as it would, so the
        # kernel still reports the exception's own name and value (papermill reads them).
        shell._showtraceback(etype, value, [*stb, *extra])
        return [*stb, *extra]

    shell.set_custom_exc((Exception,), handler)
