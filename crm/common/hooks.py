"""Named hooks that let a lower app ask for the next step without importing the app above it.

The dependency direction (conventions.md) forbids `customers` from importing `managers`; yet when a
customer or a territory changes, the assignment step must run. The lower app calls
`hooks.after_commit("portfolios_changed")`; settings.CRM_HOOKS names the function in `crm.jobs`,
where the chain of steps is assembled and every app may be seen."""

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string


def after_commit(name: str, **kwargs) -> None:
    path = getattr(settings, "CRM_HOOKS", {}).get(name)
    if path:
        function = import_string(path)
        transaction.on_commit(lambda: function(**kwargs))
