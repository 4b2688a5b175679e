import importlib

import pytest
from django.apps import apps


@pytest.fixture(autouse=True)
def visit_policies(request):
    """The data migration's default visit policies (a transactional test elsewhere may have flushed
    them). Tests without database access are left alone."""
    names = request.fixturenames
    if "transactional_db" in names or "real_worker" in names:
        request.getfixturevalue("transactional_db")
    elif "db" in names or "world" in names:
        request.getfixturevalue("db")
    else:
        return
    migration = importlib.import_module("visits.migrations.0002_default_policies")
    migration.create_defaults(apps, None)
