"""Browser pages of the customer base (placeholder until the pages land)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def customer_list(request):
    return HttpResponse("customers")


@login_required
def customer_detail(request, pk):
    return HttpResponse("customer")
