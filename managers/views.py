"""Browser pages for supervisors (placeholder until the pages land)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def team(request):
    return HttpResponse("team")


@login_required
def manager_detail(request, pk):
    return HttpResponse("manager")
