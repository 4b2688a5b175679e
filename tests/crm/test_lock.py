"""The lock (`make lock`): requirements.txt and requirements-dev.txt pin, with hashes, versions inside
pyproject.toml's ranges, and agree with each other, so the image (runtime lock) holds only versions
CI ran (dev lock). A range changed without `make lock` fails here, before an install could differ."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)((?: \\\n\s+--hash=\S+)*)", flags=re.MULTILINE)


def pinned(name: str) -> dict[str, tuple[str, str]]:
    """The lock's pins: canonical name -> (version, its --hash options)."""
    text = (ROOT / name).read_text(encoding="utf-8")
    return {canonicalize_name(n): (version, hashes) for n, version, hashes in PIN.findall(text)}


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


@pytest.mark.parametrize(
    ("lock", "groups"), [("requirements.txt", ["runtime"]), ("requirements-dev.txt", ["runtime", "dev"])]
)
def test_every_dependency_of_pyproject_is_pinned_within_its_range(project, lock, groups):
    # given the ranges of pyproject.toml and the lock
    ranges = {"runtime": project["dependencies"], "dev": project["optional-dependencies"]["dev"]}
    pins = pinned(lock)
    # then
    for group in groups:
        for requirement in map(Requirement, ranges[group]):
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{requirement} is not in {lock}: run `make lock`"
            version = pins[name][0]
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{lock} pins {name}=={version}, outside {requirement}: run `make lock`"
            )


def test_the_runtime_lock_pins_the_versions_of_the_dev_lock():
    # given both locks
    runtime, dev = pinned("requirements.txt"), pinned("requirements-dev.txt")
    # then whatever the image installs, CI installed at the same version
    assert {name: pin[0] for name, pin in runtime.items()} == {name: dev[name][0] for name in runtime}


@pytest.mark.parametrize("lock", ["requirements.txt", "requirements-dev.txt"])
def test_every_pin_carries_its_hashes(lock):
    # given / then: pip installs with --require-hashes
    pins = pinned(lock)
    assert pins
    assert [name for name, (_version, hashes) in pins.items() if "--hash=sha256:" not in hashes] == []
