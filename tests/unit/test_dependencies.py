"""pyproject.toml, requirements*.txt and requirements.lock say the same thing."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from utils import paths


def pins(name: str) -> dict[str, str]:
    """``package: version`` for every ``package==version`` line of a requirements file."""
    found = {}
    for line in (paths.ROOT / name).read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            req = Requirement(text)
            (spec,) = req.specifier
            assert spec.operator == "==", f"{name}: {text} is not pinned"
            found[canonicalize_name(req.name)] = spec.version
    return found


def declared(group: str | None = None) -> dict[str, Requirement]:
    project = tomllib.loads((paths.ROOT / "pyproject.toml").read_text())["project"]
    items = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return {canonicalize_name(Requirement(r).name): Requirement(r) for r in items}


def test_pyproject_declares_exactly_the_direct_requirements_and_admits_their_pins() -> None:
    for group, file in ((None, "requirements.txt"), ("dev", "requirements-dev.txt")):
        direct, wanted = pins(file), declared(group)
        assert set(direct) == set(wanted), file
        for name, version in direct.items():
            assert wanted[name].specifier.contains(version), f"{name}=={version} vs {wanted[name]}"


def test_the_lock_pins_every_direct_requirement_at_the_same_version() -> None:
    lock = pins("requirements.lock")
    for file in ("requirements.txt", "requirements-dev.txt"):
        for name, version in pins(file).items():
            assert lock.get(name) == version, f"{file}: {name}=={version}, lock {lock.get(name)}"
    # Local build labels (torch's +cpu) stay out: == without one matches any build.
    assert not [f"{n}=={v}" for n, v in lock.items() if "+" in v]
    assert "bedrock-customization-workshop" not in lock  # the project itself is not locked
