""".ci/audit_dependencies.py (`make security`): pip-audit --strict on the lock, against the first of
pip-audit's vulnerability services that answers; where none does, it says the audit was NOT performed
and passes. The services are stood in for here: the network of a test run is not to be relied on."""

import importlib.util
import subprocess
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def audit():
    spec = importlib.util.spec_from_file_location(
        "audit_dependencies", ROOT / ".ci" / "audit_dependencies.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def lock(tmp_path):
    path = tmp_path / "requirements-dev.txt"
    path.write_text(
        "django==5.2.19 \\\n    --hash=sha256:00\n    # via power-crm\n"
        "sqlparse==0.6.1 \\\n    --hash=sha256:11\n",
        encoding="utf-8",
    )
    return path


def service(answer):
    """A stand-in for one of pip-audit's services: `answer` is raised, or returned for the probe."""

    class Service:
        def __init__(self, timeout):
            self.timeout = timeout

        def query(self, dependency):
            if isinstance(answer, Exception):
                raise answer
            return (answer or dependency), []

    return Service


@pytest.fixture
def pip_audit(monkeypatch):
    """Records the pip-audit command instead of running it, and exits with `returncode`."""
    calls = []

    class Runner:
        returncode = 0

        def __call__(self, command, check):
            calls.append(command)
            return subprocess.CompletedProcess(command, self.returncode)

    runner = Runner()
    runner.calls = calls
    monkeypatch.setattr(subprocess, "run", runner)
    return runner


def test_when_no_service_answers_the_audit_says_it_was_not_performed_and_passes(
    audit, lock, pip_audit, capsys
):
    # given neither PyPI's JSON API nor OSV answers
    audit.SERVICES = {
        "pypi": ("PyPI", service(audit.SkippedDependency(name="django", skip_reason="not found on PyPI"))),
        "osv": ("OSV", service(requests.ConnectionError("Failed to resolve 'api.osv.dev'"))),
    }
    # when
    code = audit.main([str(lock)])
    # then it passes, saying plainly why nothing was audited, and audited nothing else instead
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("dependency audit NOT performed: PyPI unreachable: 404 for django 5.2.19")
    assert "OSV unreachable: ConnectionError: Failed to resolve 'api.osv.dev'" in out
    assert pip_audit.calls == []


def test_the_lock_is_audited_strictly_against_the_first_service_that_answers(audit, lock, pip_audit):
    # given PyPI's JSON API does not answer, OSV does, and finds a vulnerability
    audit.SERVICES = {
        "pypi": ("PyPI", service(requests.ConnectTimeout("timed out"))),
        "osv": ("OSV", service(None)),
    }
    pip_audit.returncode = 1
    # when
    code = audit.main([str(lock)])
    # then pip-audit ran strictly on the lock's pins, against OSV, and its failure is the audit's
    assert code == 1
    [command] = pip_audit.calls
    assert command[0].endswith("pip-audit")
    assert "--strict" in command
    assert command[command.index("--vulnerability-service") + 1] == "osv"
    assert command[-2:] == ["-r", str(lock)]


def test_an_error_that_is_not_the_network_fails_the_audit(audit, lock, pip_audit):
    # given a service whose client breaks (not a connection problem)
    audit.SERVICES = {"pypi": ("PyPI", service(TypeError("unexpected argument")))}
    # when / then
    with pytest.raises(TypeError):
        audit.main([str(lock)])
    assert pip_audit.calls == []


def test_a_lock_without_pins_fails_the_audit(audit, tmp_path, pip_audit):
    # given an empty lock
    empty = tmp_path / "requirements-dev.txt"
    empty.write_text("# nothing pinned\n", encoding="utf-8")
    # when / then
    assert audit.main([str(empty)]) == 2
    assert pip_audit.calls == []
