"""The small JSON state file that notebooks share instead of ``%store``.

Every mutation is a locked read-modify-write followed by an atomic replace, so a
kernel restart, a second kernel, or an interrupted write never loses or corrupts
what earlier notebooks recorded. Resources are recorded *before* they are created
(status ``creating``) so that cleanup knows about anything half-made.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from utils import paths
from utils.errors import WorkshopError

SCHEMA_VERSION = 1


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _empty() -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "workshop_id": "ws" + secrets.token_hex(3),
        "created": _now(),
        "values": {},
        "resources": [],
        "results": {},
    }


class Where(Protocol):
    """Where notebooks run: :class:`utils.clients.Context` is one."""

    backend: str
    account_id: str
    region: str


def _describe(owner: dict[str, str]) -> str:
    if owner["backend"] == "local":
        return f"the local stand-in (Region {owner['region']})"
    return f"AWS account {owner['account_id']} in {owner['region']}"


class State:
    """A handle on the state file; every read sees the file as it is now."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path else paths.state_path()

    # -- low level -----------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return _empty()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise WorkshopError(
                f"The state file {self.path} is not valid JSON ({exc.msg} at line {exc.lineno}).",
                "Fix or delete it. Deleting it forgets which resources the workshop created, so "
                "run 03_cleanup.ipynb first if you still can, or remove them in the AWS console.",
            ) from exc
        if not isinstance(data, dict) or data.get("version") != SCHEMA_VERSION:
            raise WorkshopError(
                f"The state file {self.path} was written by another version of the workshop.",
                "Run 03_cleanup.ipynb with the version that wrote it, then delete the file.",
            )
        return data

    def _write(self, data: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2, sort_keys=True, default=str)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def mutate(self, change: Callable[[dict[str, Any]], Any]) -> Any:
        """Apply ``change`` to the current contents under the lock and save; return its result."""
        with self._locked():
            data = self._read()
            result = change(data)
            self._write(data)
            return result

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the whole state as it is on disk now."""
        with self._locked():
            data = self._read()
            if not self.path.exists():
                # Fix the workshop id the first time anyone looks, so it never changes.
                self._write(data)
            return copy.deepcopy(data)

    # -- whose file it is --------------------------------------------------------------
    def owner(self) -> dict[str, str] | None:
        """The backend, account and Region the file belongs to, once a notebook claimed it."""
        owner = self.snapshot().get("owner")
        return dict(owner) if owner else None

    def claim(self, where: Where) -> State:
        """Bind the file to ``where``; refuse it to another backend, account or Region.

        Resources and values recorded against the stand-in mean nothing in an AWS account
        (and those of one account or Region nothing in another), so a notebook must not
        read them there. A file that records no resource (never used, or cleaned up, or
        left by a setup that stopped early) goes to the new owner, without its old values.
        Returns this state, so ``load().claim(ctx)`` reads well.

        Raises:
            WorkshopError: The file records resources of another backend, account or Region.
        """
        wanted = {"backend": where.backend, "account_id": where.account_id, "region": where.region}

        def change(data: dict[str, Any]) -> dict[str, str]:
            owner = data.get("owner")
            # A file from before owners were recorded goes to the first notebook to open it.
            if owner is None or (owner != wanted and not data["resources"]):
                if owner:
                    data["values"] = {}  # they described a place where nothing exists now
                data["owner"] = owner = wanted
            return dict(owner)

        owner = self.mutate(change)
        if owner != wanted:
            raise WorkshopError(
                f"The state file {self.path} records resources in {_describe(owner)}, but "
                f"this notebook runs against {_describe(wanted)}.",
                f"Run the notebook with backend={owner['backend']!r} and "
                f"region={owner['region']!r}; or run 03_cleanup.ipynb that way first (it "
                "removes what the file records, and the file is then free); or keep both by "
                "setting WORKSHOP_STATE to another file for this one and restarting the kernel.",
            )
        return self

    # -- values ----------------------------------------------------------------------
    @property
    def workshop_id(self) -> str:
        """Short random id of this workshop copy, used in resource names and tags."""
        return str(self.snapshot()["workshop_id"])

    def get(self, key: str, default: Any = None) -> Any:
        """A value recorded with :meth:`set`."""
        return self.snapshot()["values"].get(key, default)

    def require(self, key: str, notebook: str = "00_setup.ipynb") -> Any:
        """A value that an earlier notebook must have recorded, or a clear error naming it."""
        value = self.get(key)
        if value is None:
            raise WorkshopError(
                f"'{key}' is not in the state file {self.path}.",
                f"Run {notebook} first (it records '{key}'), then run this notebook again.",
            )
        return value

    def set(self, key: str, value: Any) -> None:
        """Record a JSON-serialisable value under ``key``."""
        self.mutate(lambda d: d["values"].__setitem__(key, value))

    def update(self, **values: Any) -> None:
        """Record several values at once."""
        self.mutate(lambda d: d["values"].update(values))

    # -- resources -------------------------------------------------------------------
    def add_resource(self, kind: str, ident: str, **attrs: Any) -> dict[str, Any]:
        """Record a resource (or update it if already recorded); returns the record."""

        def change(data: dict[str, Any]) -> dict[str, Any]:
            for rec in data["resources"]:
                if rec["kind"] == kind and rec["id"] == ident:
                    rec.update(attrs, updated=_now())
                    return copy.deepcopy(rec)
            rec = {"kind": kind, "id": ident, "recorded": _now(), **attrs}
            data["resources"].append(rec)
            return copy.deepcopy(rec)

        record: dict[str, Any] = self.mutate(change)
        return record

    def update_resource(self, kind: str, ident: str, **attrs: Any) -> None:
        """Change attributes of a recorded resource (recording it if it is missing)."""
        self.add_resource(kind, ident, **attrs)

    def remove_resource(self, kind: str, ident: str) -> None:
        """Forget a resource once it is gone."""

        def change(data: dict[str, Any]) -> None:
            data["resources"] = [
                r for r in data["resources"] if not (r["kind"] == kind and r["id"] == ident)
            ]

        self.mutate(change)

    def resources(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Recorded resources, oldest first, optionally of one kind."""
        recs = self.snapshot()["resources"]
        return [r for r in recs if kind is None or r["kind"] == kind]

    def find_resource(self, kind: str, ident: str) -> dict[str, Any] | None:
        """The record of one resource, or None."""
        return next((r for r in self.resources(kind) if r["id"] == ident), None)

    # -- results ---------------------------------------------------------------------
    def record_result(self, key: str, value: Any, notebook: str | None = None) -> None:
        """Record a key result (job ARN, status, metric) for the run summary."""
        name = notebook or os.environ.get("WORKSHOP_NOTEBOOK") or "interactive"
        self.mutate(lambda d: d["results"].setdefault(name, {}).__setitem__(key, value))

    def results(self, notebook: str | None = None) -> dict[str, Any]:
        """Recorded results, of one notebook or of all."""
        res: dict[str, Any] = self.snapshot()["results"]
        return dict(res.get(notebook, {})) if notebook else res


def load(path: Path | str | None = None) -> State:
    """Open the workshop state file (created on first write)."""
    return State(path)
