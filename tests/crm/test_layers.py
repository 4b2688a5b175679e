"""The dependency direction of conventions.md, read off the source: every import between the apps
(at the top of a module or inside a function) goes down the layers, never up, and no app imports the
modules of `crm/` that gather every app (crm.api, crm.urls, crm.pages, crm.jobs)."""

import ast
from pathlib import Path

import pytest
from django.conf import settings

# What each app may import besides itself: the layers below it (conventions.md, "Dependencies").
# crm.common and crm.accounts are the ground floor together: the user and its roles, which every
# app reads, and the common parts (the context processor reads the roles; the access loader, scopes).
BASE = {"crm.common", "crm.accounts"}
BELOW = {
    "crm.common": {"crm.accounts"},
    "crm.accounts": {"crm.common"},
    "customers": BASE,
    "managers": BASE | {"customers"},
    "training": BASE | {"customers", "managers"},
    "visits": BASE | {"customers", "managers"},
    "service": BASE | {"customers", "managers", "visits"},
    "notices": BASE | {"customers", "managers", "visits", "service"},
    "forecasts": BASE | {"customers", "managers", "visits"},
    "appraisal": BASE | {"customers", "managers", "visits", "training", "forecasts", "service"},
    # above everything it reports on, fed by the outbox rows the lower apps write
    "integrations": BASE | {"customers", "managers", "visits", "service", "notices", "forecasts"},
}
GATHERERS = ("crm.api", "crm.urls", "crm.pages", "crm.jobs")
ROOT = Path(settings.BASE_DIR)


def _app_of(module: str) -> str | None:
    for app in sorted(BELOW, key=len, reverse=True):
        if module == app or module.startswith(app + "."):
            return app
    return None


def _imports(path: Path) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.append(node.module)
    return modules


def _sources(app: str) -> list[Path]:
    return [p for p in (ROOT / app.replace(".", "/")).rglob("*.py") if "migrations" not in p.parts]


@pytest.mark.parametrize("app", sorted(BELOW))
def test_an_app_imports_only_the_layers_below_it(app):
    upward = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in _sources(app)
        for module in _imports(path)
        if (other := _app_of(module)) not in (None, app)
        and other not in BELOW[app]
        or module.startswith(GATHERERS)
    ]
    assert not upward, "imports against the dependency direction:\n" + "\n".join(upward)


def test_the_layers_name_every_app_of_the_project():
    # a new app is placed in BELOW, or its imports go unchecked
    local = {
        name.split(".")[0] if not name.startswith("crm.") else name
        for name in settings.INSTALLED_APPS
        if (ROOT / name.replace(".", "/")).is_dir()
    }
    assert local - set(BELOW) <= {"crm.demo"}, local - set(BELOW)
