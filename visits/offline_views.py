"""The offline field app (issue 18): the page a manager opens in a village with no signal, the
briefcase it keeps (visits.offline), the service worker that serves the manager's pages from the
phone, and the web app manifest. Everything the browser runs is a static file
(crm/static/crm/offline-*.js): the content security policy allows no inline script."""

import hashlib
import json
from functools import lru_cache

from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.staticfiles import finders
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from visits.forms import FollowUpForm, ReportForm
from visits.models import VisitReport
from visits.offline import BRIEFCASE_DAYS, briefcase_for
from visits.photos import MAX_PHOTOS_PER_REPORT

VIEW = "visits.view_visittask"
# The static files the app needs with no connection; the service worker keeps them from install on.
SHELL_ASSETS = (
    "crm/app.css",
    "crm/offline.css",
    "crm/offline-core.js",
    "crm/offline-page.js",
    "crm/offline-app.js",
    "crm/visit-report.js",
    "crm/icon-192.png",
)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_safe
def field_app(request):
    """The field app's shell: drawn from the briefcase in the phone by offline-app.js; the report
    form is the page's own, rendered here in Chinese, cloned for each visit."""
    return render(
        request,
        "visits/offline.html",
        {
            "form": ReportForm(),
            "follow_up": FollowUpForm(prefix="fu-0"),
            "days": BRIEFCASE_DAYS,
            "max_photos": MAX_PHOTOS_PER_REPORT,
            "field_app": True,
        },
    )


@login_required
@permission_required(VIEW, raise_exception=True)
@require_safe
@never_cache
def briefcase(request):
    return JsonResponse(briefcase_for(user=request.user), json_dumps_params={"ensure_ascii": False})


@lru_cache(maxsize=1)
def _asset_version() -> str:
    """A digest of the shell's files: a new release changes it, so the browser installs the new
    service worker, which drops the old caches."""
    digest = hashlib.sha256()
    for name in (*SHELL_ASSETS, "crm/sw.js"):
        path = finders.find(name)
        if path:
            with open(path, "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()[:12]


@require_safe
def service_worker(request):
    """/sw.js: served at the root so its scope covers every page of the site (the manager's home,
    week, visit list and report form), with its settings ahead of the static file's code."""
    path = finders.find("crm/sw.js")
    with open(path, encoding="utf-8") as handle:
        code = handle.read()
    config = {
        "version": _asset_version(),
        "shell": reverse("visits:field-app"),
        "assets": [static(name) for name in SHELL_ASSETS],
        "core": static("crm/offline-core.js"),
        "pages": [reverse("home"), reverse("visits:week"), reverse("visits:plan-week")],
        "report_page": "/visits/tasks/",
        "api": "/api/",
        "login": reverse("login"),
    }
    response = HttpResponse(
        f"self.CRM_SW = {json.dumps(config)};\n{code}", content_type="application/javascript; charset=utf-8"
    )
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"  # the browser checks for a new worker on every load
    return response


@require_safe
def manifest(request):
    """The web app manifest: the field app installs to the phone's home screen and opens there."""
    data = {
        "name": _("Power supply CRM: field visits"),
        "short_name": _("Field visits"),
        "lang": "zh-Hans",
        "start_url": reverse("visits:field-app"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5cad",
        "icons": [
            {"src": static("crm/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("crm/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response


@login_required
@permission_required("visits.view_visitreport", raise_exception=True)
@require_safe
def report_photos(request, pk: int):
    """A report's check-in beside the customer's address, and its photos, each fetched from the
    API's file view (visits.photo_api), which checks the scope again: nothing here is a public URL."""
    report = get_object_or_404(
        VisitReport.objects.visible_to(request.user).select_related("task__customer", "by"), pk=pk
    )
    return render(
        request,
        "visits/report_photos.html",
        {"report": report, "task": report.task, "photos": list(report.photos.all())},
    )
