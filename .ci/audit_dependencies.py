"""pip-audit on the installed environment, strictly: fail on any known vulnerability, and fail too
when the advisory database could not be asked about a package. pip-audit itself reports "No known
vulnerabilities found" and exits 0 when it reached no advisory service at all (every package
skipped as "not found on PyPI"), which would make a silent pass of an audit that never happened."""

import json
import subprocess
import sys
from pathlib import Path

PIP_AUDIT = Path(sys.executable).with_name("pip-audit")


def main() -> int:
    done = subprocess.run(  # noqa: S603 - our own environment's pip-audit, fixed arguments
        [str(PIP_AUDIT), "--format", "json", "--progress-spinner", "off", "--skip-editable", *sys.argv[1:]],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        print(done.stderr.strip()[-2000:], file=sys.stderr)
        print(
            "pip-audit could not produce a report: is the advisory database (pypi.org or api.osv.dev) "
            "reachable from this machine?",
            file=sys.stderr,
        )
        return 2
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = len(dependencies) - len(skipped)
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            print(f"{dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixed})")
    if skipped:
        print(
            f"pip-audit could not audit {len(skipped)} of {len(dependencies)} packages, e.g. "
            f"{skipped[0]['skip_reason']!r}. The advisory database is probably unreachable from this "
            "machine (pip may install from a local mirror, but the audit needs pypi.org's JSON API or "
            "api.osv.dev): the audit did NOT happen.",
            file=sys.stderr,
        )
        return 2
    if vulnerable:
        return 1
    print(f"pip-audit: {audited} packages audited, no known vulnerabilities.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
