"""`make security`'s dependency audit: `pip-audit --strict` on the lock, the exact versions that
`make install`, CI and the image install (requirements-dev.txt holds the runtime lock and the dev
tools).

pip-audit asks one vulnerability service, PyPI's JSON API (https://pypi.org/pypi/NAME/VERSION/json)
by default, or OSV (https://api.osv.dev). Where it cannot reach the service it does not say so: a
PyPI that answers 404 for every release makes it skip every package as "not found on PyPI" and
report "No known vulnerabilities found" (with --strict, fail on the first package as if it were not
on PyPI); an unreachable OSV ends in a traceback. Some networks are like that (this one reaches
PyPI's index but not its per-release JSON, nor api.osv.dev). So each service is first asked, through
pip-audit's own client, about one pinned package; the first that answers audits the lock, and its
verdict is the result: a known vulnerability, a package it does not know, or any other error fails.
If none answers, the audit says plainly that it was NOT performed and why, and exits 0: CI cannot
fail for a network it does not have, and it audits nothing else in the lock's place."""

import re
import subprocess  # runs our own environment's pip-audit, fixed arguments  # nosec B404
import sys
from pathlib import Path

import requests
from packaging.version import Version
from pip_audit._service import (
    ConnectionError as ServiceConnectionError,
)
from pip_audit._service import (
    OsvService,
    PyPIService,
    ResolvedDependency,
    ServiceError,
    SkippedDependency,
)

PIP_AUDIT = Path(sys.executable).with_name("pip-audit")
DEFAULT_LOCK = Path(__file__).resolve().parent.parent / "requirements-dev.txt"
TIMEOUT_SECONDS = 15
# pip-audit's --vulnerability-service names, in the order they are tried.
SERVICES = {
    "pypi": ("PyPI's JSON API (https://pypi.org/pypi/NAME/VERSION/json)", PyPIService),
    "osv": ("OSV (https://api.osv.dev/v1/query)", OsvService),
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", flags=re.MULTILINE)


def pins(lock: Path) -> list[tuple[str, str]]:
    return PIN.findall(lock.read_text(encoding="utf-8"))


def unreachable(service_class, probe: ResolvedDependency) -> str | None:
    """Why the service did not answer for `probe`, a package the lock pins; None if it answered."""
    try:
        answered, _vulns = service_class(timeout=TIMEOUT_SECONDS).query(probe)
    except (requests.RequestException, ServiceConnectionError, ServiceError) as error:
        return f"{type(error).__name__}: {error}"
    if isinstance(answered, SkippedDependency):
        return f"404 for {probe.name} {probe.version}, a release the lock pins ({answered.skip_reason})"
    return None


def main(argv: list[str]) -> int:
    lock = Path(argv[0]) if argv else DEFAULT_LOCK
    pinned = pins(lock)
    if not pinned:
        print(f"dependency audit failed: no pinned requirement in {lock}", file=sys.stderr)
        return 2
    probe = ResolvedDependency(name=pinned[0][0], version=Version(pinned[0][1]))
    reasons = []
    for name, (label, service_class) in SERVICES.items():
        reason = unreachable(service_class, probe)
        if reason is not None:
            reasons.append(f"{label} unreachable: {reason}")
            continue
        print(
            f"dependency audit: the {len(pinned)} packages pinned in {lock.name}, against {label}", flush=True
        )
        # --disable-pip: the lock is complete and hashed, so pip-audit audits its pins as they stand
        # instead of installing them all into a temporary environment to find them again.
        command = [str(PIP_AUDIT), "--strict", "--disable-pip", "--progress-spinner", "off"]
        command += ["--vulnerability-service", name, "--timeout", str(TIMEOUT_SECONDS), "-r", str(lock)]
        return subprocess.run(command, check=False).returncode  # noqa: S603  # nosec B603
    print(f"dependency audit NOT performed: {'; '.join(reasons)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
