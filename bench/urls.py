"""The bench urlconf: every URL of the product, plus the floors `make bench` measures it against.
The floors are never part of the product's URLs (bench/settings.py points ROOT_URLCONF here).

A floor is the least work that answers with the same rows: the same authentication (one token or
session lookup), the same scope (`visible_to`), the same filter, search and order, the rows read
with `values()` and written as JSON, without serializers, filter sets, templates or middleware
beyond what every request passes."""

from django.apps import apps
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count, Q
from django.http import Http404, HttpResponseForbidden, JsonResponse
from django.urls import include, path
from rest_framework.authtoken.models import Token

from appraisal.views import REVIEW_PAGE_SIZE
from crm.urls import urlpatterns as product_urls
from customers.api import CUSTOMER_SEARCH_FIELDS, CustomerSerializer
from customers.models import ConsumptionRecord, Contact, Customer, Status, TierChange
from managers.models import Assignment
from visits.models import VisitTask

# The columns the API's customer serializer answers with, as model attributes.
CUSTOMER_VALUES = [
    f"{name}_id" if Customer._meta.get_field(name).is_relation else name
    for name in CustomerSerializer.Meta.fields
]
FILTERS = ("tier", "station", "manager", "community", "transformer_district", "category", "status")


def _json(data) -> JsonResponse:
    return JsonResponse(data, encoder=DjangoJSONEncoder, safe=False)


def customer_list_floor(request):
    """/api/v1/customers/ with the same filters, `search=`, page and page size: the page's rows and
    the total, as the API answers."""
    key = request.headers.get("Authorization", "").removeprefix("Token ")
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None:
        return HttpResponseForbidden()
    customers = Customer.objects.visible_to(token.user)
    customers = customers.filter(**{name: request.GET[name] for name in FILTERS if name in request.GET})
    term = request.GET.get("search", "").strip()
    if term:
        match = Q()
        for name in CUSTOMER_SEARCH_FIELDS:
            match |= Q(**{f"{name}__icontains": term})
        customers = customers.filter(match)
    size = min(int(request.GET.get("page_size", settings.REST_FRAMEWORK["PAGE_SIZE"])), 500)
    start = (int(request.GET.get("page", 1)) - 1) * size
    rows = list(customers.order_by("account_no").values(*CUSTOMER_VALUES)[start : start + size])
    return _json({"count": customers.count(), "results": rows})


def home_floor(request):
    """A manager's home page: their active customers counted per tier (the figures it shows)."""
    if not request.user.is_authenticated:
        return HttpResponseForbidden()
    counts = (
        Customer.objects.filter(manager=request.user, status=Status.ACTIVE)
        .values("tier")
        .annotate(n=Count("pk"))
        .order_by("tier")
    )
    return _json(list(counts))


def customer_page_floor(request, pk):
    """A customer page: the customer, its last 12 months, contacts, tier history, visits and
    assignments (the rows the page shows), each read once with values()."""
    if not request.user.is_authenticated:
        return HttpResponseForbidden()
    customer = Customer.objects.visible_to(request.user).filter(pk=pk).values().first()
    if customer is None:
        raise Http404
    return _json(
        {
            "customer": customer,
            "consumption": list(
                ConsumptionRecord.objects.filter(customer_id=pk).order_by("-period").values()[:12]
            ),
            "contacts": list(Contact.objects.filter(customer_id=pk).values()),
            "tier_changes": list(TierChange.objects.filter(customer_id=pk).order_by("-at").values()[:24]),
            "visits": list(VisitTask.objects.filter(customer_id=pk).order_by("-due_date").values()[:12]),
            "assignments": list(
                Assignment.objects.filter(customer_id=pk).order_by("-started_at").values()[:20]
            ),
        }
    )


def review_floor(request, year):
    """The supervisor's appraisal review: how many appraisals of the year the user runs (the page's
    scope, appraisal.visibility.results_shown_filter), the first page of them in the page's order and
    their raters with the figures stored on them (the rows the page shows: since 2026-12-02 it reads
    no scores), each read once with values()."""
    if not request.user.is_authenticated:
        return HttpResponseForbidden()
    from appraisal.visibility import results_shown_filter

    appraisal, rater = (apps.get_model("appraisal", m) for m in ("Appraisal", "Rater"))
    team = appraisal.objects.filter(cycle__year=year).filter(results_shown_filter(request.user))
    count = team.count()
    ids = list(
        team.order_by("manager__station__code", "manager__employee_no", "pk").values_list("pk", flat=True)[
            :REVIEW_PAGE_SIZE
        ]
    )
    return _json(
        {
            "count": count,
            "appraisals": list(appraisal.objects.filter(pk__in=ids).values()),
            "raters": list(rater.objects.filter(appraisal__in=ids).values()),
        }
    )


urlpatterns = [
    path("bench-floor/customers/", customer_list_floor),
    path("bench-floor/home/", home_floor),
    path("bench-floor/customers/<int:pk>/", customer_page_floor),
    path("bench-floor/appraisal/<int:year>/review/", review_floor),
    path("", include(product_urls)),
]
