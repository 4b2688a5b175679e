"""The content security policy forbids inline styles and scripts without the nonce: no template
may rely on them, or the browser silently drops them."""

import re
from pathlib import Path

from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
APPS = ["crm", "customers", "managers", "visits", "appraisal", "training"]


def _template_files():
    yield from TEMPLATES.rglob("*.html")
    for app in APPS:
        yield from (Path(settings.BASE_DIR) / app).rglob("templates/**/*.html")


def test_no_template_uses_inline_style_attributes():
    offenders = [
        str(p) for p in _template_files() if re.search(r"\sstyle\s*=", p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_every_inline_script_or_style_block_carries_the_nonce():
    pattern = re.compile(r"<(script|style)\b(?![^>]*\bsrc=)(?![^>]*nonce=)[^>]*>", re.IGNORECASE)
    offenders = [str(p) for p in _template_files() if pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
