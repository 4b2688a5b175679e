"""Parts of a page that the apps above the page's own app hold.

The customer page of `customers` shows the customer's visits and who served it, which `visits` and
`managers` hold; the home page of `crm.common` shows the portfolio figures of `managers`. Neither may
import them (conventions.md), and a template tag that queries would hide the page's reads from its
view. So the view asks for its parts by name, `pages.parts("customer_detail", request=request,
customer=customer)`, and settings.CRM_PAGE_PARTS names the function in crm/pages.py that assembles
them, where every app may be seen: the pages' counterpart of settings.CRM_HOOKS and crm/jobs.py."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


def parts(name: str, **kwargs) -> dict:
    """The context the page `name` gets from the apps above it, to render with its own. A name the
    settings do not know is a mistake, said at once, not a section silently missing."""
    path = getattr(settings, "CRM_PAGE_PARTS", {}).get(name)
    if path is None:
        raise ImproperlyConfigured(f"settings.CRM_PAGE_PARTS names no function for the page {name!r}")
    return import_string(path)(**kwargs)
