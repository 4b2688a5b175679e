"""The production settings, loaded in a fresh interpreter (they read the environment once, at import)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_with_production_settings(code: str, **environment) -> subprocess.CompletedProcess:
    """Run `code` (Python, after `from django.conf import settings`) under crm.settings.production,
    with only these of our variables (DJANGO_SECRET_KEY, REDIS_URL) set."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SECRET_KEY", "REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="crm.settings.production", **environment)
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", f"from django.conf import settings; {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
