"""Named hooks that let a lower app ask for the next step without importing the app above it.

The dependency direction (conventions.md) forbids `customers` from importing `managers`; yet when a
customer or a territory changes, the assignment step must run. The lower app calls
`hooks.after_commit("portfolios_changed")`; settings.CRM_HOOKS names the function in `crm.jobs`,
where the chain of steps is assembled and every app may be seen.

A name the settings do not list is refused: a misspelt hook would otherwise skip its step without a
word. Settings that want a step not to run (the benchmarks measure each step alone) map its name to
None."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.module_loading import import_string


def after_commit(name: str, **kwargs) -> None:
    """Call the function settings.CRM_HOOKS names for `name` with `kwargs` once the transaction
    commits (at once outside one). Raises ImproperlyConfigured for a name it does not list."""
    configured = getattr(settings, "CRM_HOOKS", {})
    if name not in configured:
        raise ImproperlyConfigured(
            f"No hook named {name!r} in settings.CRM_HOOKS (known: {', '.join(sorted(configured))}); "
            "add it, or map it to None to switch it off."
        )
    path = configured[name]
    if path:
        function = import_string(path)
        transaction.on_commit(lambda: function(**kwargs))
