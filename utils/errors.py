"""One exception type for problems a learner can fix, shown as a message rather than a traceback."""

from __future__ import annotations

from botocore.exceptions import ClientError


class WorkshopError(RuntimeError):
    """A problem with a clear cause and a next step; notebooks show it without a traceback.

    Args:
        problem: What went wrong, in one sentence.
        fix: What to do about it.
    """

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(problem if not fix else f"{problem}\nWhat to do: {fix}")

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of printing a traceback: a learner sees the
        # problem and the fix, not forty lines of botocore internals.
        return [f"{type(self).__name__}: {self}"]


def error_code(err: ClientError) -> str:
    """The AWS error code of a failed call ("" when the response carries none)."""
    return str(err.response.get("Error", {}).get("Code", ""))
