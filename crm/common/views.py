from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views import defaults
from django.views.decorators.http import require_safe

from crm.common import pages


@login_required
@require_safe
def home(request):
    """The landing page. Its figures are the managers' (managers.selectors.home_summary), which
    the common package, below every app, asks crm/pages.py for (crm/common/pages.py)."""
    return render(request, "home.html", pages.parts("home", request=request))


def server_error(request):
    """handler500: the API's error shape under /api/, else templates/500.html, which needs neither
    the database nor a signed-in user (Django renders it without the request: whatever failed may
    be the database)."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": gettext("A server error occurred.")}, status=500)
    return defaults.server_error(request)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a form refused for its missing or stale token (a page left open past the
    session, cookies blocked) is explained in the product's frame, with the way back to the form."""
    # back to the page the form was on (the browser's Referer), if it is one of this site's
    back = request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=request.is_secure()):
        back = ""
    return render(request, "403_csrf.html", {"back": back}, status=403)
