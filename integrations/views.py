"""The administrators' pages of the webhooks: the endpoints (a new one's secret shown once, on the
answer to its creation), one endpoint with its deliveries, turning it on or off, rotating its
secret, and replays (one delivery, or everything of a time range). A fixed number of queries
whatever the number of endpoints and deliveries."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from crm.common.outbox import EVENT_TYPES
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.services import (
    deliveries_replay,
    delivery_replay,
    endpoint_rotate_secret,
    endpoint_save,
)

SHOWN = 50  # deliveries on the endpoint's page; the counts above say how many there are

# What each event type is, in the page's language (the code stays beside it: receivers use it).
EVENT_LABELS = {
    "customer.tier_changed": gettext_lazy("A customer's tier changed"),
    "customer.manager_changed": gettext_lazy("A customer's manager changed"),
    "visit_task.done": gettext_lazy("A visit was reported done"),
    "service_request.created": gettext_lazy("A service request was opened"),
    "service_request.stage_changed": gettext_lazy("A service request's stage was done"),
    "service_request.closed": gettext_lazy("A service request was closed or cancelled"),
    "outage_notice.published": gettext_lazy("An outage notice was published"),
    "appraisal.finalized": gettext_lazy("An appraisal was finalized"),
}


class EndpointForm(forms.Form):
    url = forms.CharField(label=gettext_lazy("Receiver URL"), max_length=500)
    description = forms.CharField(
        label=gettext_lazy("What the endpoint is for"), max_length=200, required=False
    )
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        choices=[(t, f"{EVENT_LABELS[t]} ({t})") for t in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
    )


class ReplayRangeForm(forms.Form):
    since = forms.DateTimeField(
        label=gettext_lazy("From"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        label=gettext_lazy("To"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Any status")), *DeliveryStatus.choices],
    )


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


@login_required
@permission_required("integrations.view_webhookendpoint", raise_exception=True)
@require_http_methods(["GET", "POST"])
def endpoint_list(request):
    form = EndpointForm(request.POST or None)
    created = None
    if request.method == "POST":
        if not request.user.has_perm("integrations.add_webhookendpoint"):
            raise PermissionDenied
        if form.is_valid():
            try:
                created = endpoint_save(endpoint=None, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                form = EndpointForm()
    endpoints = WebhookEndpoint.objects.annotate(
        pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
        given_up=Count(
            "deliveries",
            filter=Q(deliveries__status__in=[DeliveryStatus.FAILED, DeliveryStatus.EXHAUSTED]),
        ),
    ).order_by("url", "pk")
    return render(
        request,
        "integrations/endpoint_list.html",
        {"endpoints": endpoints, "form": form, "created": created, "labels": EVENT_LABELS},
        status=201 if created else (400 if request.method == "POST" else 200),
    )


@login_required
@permission_required("integrations.view_webhookendpoint", raise_exception=True)
@require_http_methods(["GET", "POST"])
def endpoint_detail(request, pk: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    replay_form = ReplayRangeForm(request.POST if request.POST.get("action") == "replay-range" else None)
    rotated = None
    if request.method == "POST":
        if not request.user.has_perm("integrations.change_webhookendpoint"):
            raise PermissionDenied
        action = request.POST.get("action")
        try:
            if action == "rotate":
                rotated = endpoint_rotate_secret(endpoint=endpoint, by=request.user)
            elif action in ("enable", "disable"):
                endpoint_save(endpoint=endpoint, by=request.user, active=action == "enable")
                return redirect("integrations:endpoint", pk=endpoint.pk)
            elif action == "replay-range" and replay_form.is_valid():
                count = deliveries_replay(
                    by=request.user,
                    endpoint=endpoint,
                    since=replay_form.cleaned_data["since"],
                    until=replay_form.cleaned_data["until"],
                    status=replay_form.cleaned_data["status"] or None,
                )
                messages.success(request, _("%(n)s deliveries will be sent again.") % {"n": count})
                return redirect("integrations:endpoint", pk=endpoint.pk)
        except ValidationError as exc:
            if action == "replay-range":
                _add_errors(replay_form, exc)
            else:
                messages.error(request, " ".join(exc.messages))
        endpoint.refresh_from_db()
    status = request.GET.get("status", "")
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")
    counts = deliveries.aggregate(
        **{value: Count("pk", filter=Q(status=value)) for value in DeliveryStatus.values}
    )
    if status in DeliveryStatus.values:
        deliveries = deliveries.filter(status=status)
    shown = list(deliveries.order_by("-created_at", "-pk")[:SHOWN])
    for delivery in shown:
        delivery.label = EVENT_LABELS.get(delivery.event_type, delivery.event_type)
    return render(
        request,
        "integrations/endpoint_detail.html",
        {
            "endpoint": endpoint,
            "deliveries": shown,
            "event_labels": [(t, EVENT_LABELS.get(t, t)) for t in endpoint.events],
            "counts": [(value, label, counts[value]) for value, label in DeliveryStatus.choices],
            "status": status,
            "rotated": rotated,
            "replay_form": replay_form,
            "now": timezone.now(),
        },
    )


@login_required
@permission_required("integrations.change_webhookdelivery", raise_exception=True)
@require_POST
def delivery_replay_view(request, pk: int):
    delivery = get_object_or_404(WebhookDelivery, pk=pk)
    try:
        delivery_replay(delivery=delivery, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The delivery will be sent again, with the same webhook-id."))
    return redirect("integrations:endpoint", pk=delivery.endpoint_id)
