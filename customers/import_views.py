"""Browser pages for importing files (placeholder until the importer lands)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def import_start(request):
    return HttpResponse("import")


@login_required
def import_detail(request, pk):
    return HttpResponse("import job")
