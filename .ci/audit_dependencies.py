"""pip-audit on the installed environment, strictly: fail on any known vulnerability, and fail too
when no advisory database could be asked. pip-audit itself reports "No known vulnerabilities found"
and exits 0 when it reached no advisory service at all (every package skipped as "not found on
PyPI"), which would make a silent pass of an audit that never happened.

Where pip-audit cannot reach its services (this machine reaches PyPI through a gateway that answers
a project's JSON, https://pypi.org/pypi/NAME/json, but not a release's, .../NAME/VERSION/json, and
does not reach api.osv.dev), the audit falls back to the project JSON. PyPI lists there the
advisories (PyPA advisory database, OSV) of the project's *latest* release, so a package installed at
its latest release is audited exactly; a package held behind its latest release cannot be audited
that way and is named in the report as not audited. It passes only if it is in HELD_BACK, a reviewed
list of packages the project pins below their latest on purpose, or if every newer release is less
than NEW_RELEASE_GRACE old (a release out since the environment was installed should not break CI
overnight; one that stays unapplied for weeks must be applied or reviewed)."""

import importlib.metadata
import json
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

PIP_AUDIT = Path(sys.executable).with_name("pip-audit")
PROJECT_JSON = "https://pypi.org/pypi/{name}/json"
NEW_RELEASE_GRACE = timedelta(days=30)
# Packages pyproject.toml keeps below their latest release on purpose (the range the suite was run
# against), and what they come with. Their own advisories cannot be asked here; review the list
# when a range is widened.
HELD_BACK = {
    "django": "5.2 LTS (pyproject: Django>=5.2,<5.3)",
    "openapi-spec-validator": "pyproject: <0.9",
    "openapi-schema-validator": "comes with openapi-spec-validator 0.8",
    "jsonschema-path": "comes with openapi-spec-validator 0.8",
    "pathable": "comes with jsonschema-path",
    "cron-descriptor": "comes with django-celery-beat",
    "python-dateutil": "celery pins ==2.9.0.post0",
}


def _pip_audit() -> dict | None:
    done = subprocess.run(  # noqa: S603 - our own environment's pip-audit, fixed arguments  # nosec B603
        [str(PIP_AUDIT), "--format", "json", "--progress-spinner", "off", "--skip-editable", *sys.argv[1:]],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        print(done.stderr.strip()[-2000:], file=sys.stderr)
        return None
    dependencies = report.get("dependencies", [])
    if dependencies and all(d.get("skip_reason") for d in dependencies):
        return None  # no advisory service answered at all: try the fallback
    return report


def _report(report: dict) -> int:
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            print(f"{dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixed})")
    if skipped:
        print(f"pip-audit could not audit {', '.join(d['name'] for d in skipped)}.", file=sys.stderr)
        return 2
    if vulnerable:
        return 1
    print(f"pip-audit: {len(dependencies)} packages audited, no known vulnerabilities.")
    return 0


def _project(name: str) -> tuple[str, dict | None]:
    url = PROJECT_JSON.format(name=name)
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - fixed https URL  # nosec B310
            return name, json.load(response)
    except (urllib.error.URLError, TimeoutError, json.JSONDecodeError):
        return name, None


def _installed() -> dict[str, str]:
    """Installed distributions by canonical name, less this project itself (not on PyPI)."""
    found = {}
    for dist in importlib.metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name != "power-crm":
            found[name] = dist.version
    return found


def _newer_for(data: dict, installed: str) -> timedelta | None:
    """How long the oldest release newer than `installed` has been out (None if it cannot be told)."""
    try:
        mine = Version(installed)
    except InvalidVersion:
        return None
    uploads = []
    for version, files in data.get("releases", {}).items():
        try:
            newer = Version(version) > mine and not Version(version).is_prerelease
        except InvalidVersion:
            continue
        if newer and files and not all(f.get("yanked") for f in files):
            uploads.append(min(datetime.fromisoformat(f["upload_time_iso_8601"]) for f in files))
    return datetime.now(UTC) - min(uploads) if uploads else None


def _fallback() -> int:
    installed = _installed()
    with ThreadPoolExecutor(max_workers=8) as pool:
        projects = dict(pool.map(_project, sorted(installed)))
    unreachable = sorted(name for name, data in projects.items() if data is None)
    if len(unreachable) == len(installed):
        print(
            "No advisory database answered (pip-audit's services, nor PyPI's project JSON): "
            "the audit did NOT happen.",
            file=sys.stderr,
        )
        return 2
    vulnerable, audited, behind = [], [], []
    for name, data in projects.items():
        if data is None:
            continue
        latest = data["info"]["version"]
        if latest != installed[name]:
            behind.append((name, installed[name], latest, _newer_for(data, installed[name])))
            continue
        audited.append(name)
        for vuln in data.get("vulnerabilities") or []:
            if not vuln.get("withdrawn"):
                vulnerable.append((name, installed[name], vuln))
    for name, version, vuln in vulnerable:
        fixed = ", ".join(vuln.get("fixed_in") or []) or "no fixed version yet"
        print(f"{name} {version}: {vuln['id']} (fixed in {fixed})")
    unreviewed = []
    for name, version, latest, out_for in behind:
        if name in HELD_BACK:
            reason = HELD_BACK[name]
        elif out_for is not None and out_for < NEW_RELEASE_GRACE:
            reason = f"a newer release has been out {out_for.days} days: upgrade it"
        else:
            reason = "NOT in HELD_BACK: upgrade it, or review it and add it"
            unreviewed.append(name)
        print(f"not audited: {name} {version} (latest {latest}; {reason})")
    if unreachable:
        print(f"PyPI did not answer for: {', '.join(unreachable)}", file=sys.stderr)
    print(
        f"PyPI project JSON: {len(audited)} packages at their latest release audited, "
        f"{len(vulnerable)} known vulnerabilities; {len(behind)} held back not audited."
    )
    if vulnerable:
        return 1
    return 2 if unreviewed or unreachable else 0


def main() -> int:
    report = _pip_audit()
    if report is not None:
        return _report(report)
    print("pip-audit reached no advisory service; asking PyPI's project JSON instead.", file=sys.stderr)
    return _fallback()


if __name__ == "__main__":
    sys.exit(main())
