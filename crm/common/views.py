from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from crm.common import pages


@login_required
@require_safe
def home(request):
    """The landing page. Its figures are the managers' (managers.selectors.home_summary), which
    the common package, below every app, asks crm/pages.py for (crm/common/pages.py)."""
    return render(request, "home.html", pages.parts("home", request=request))
