"""Browser pages of one-stop service (service.md), phone first: a request's page with its stages as a
timeline and its actions, the manager's list of requests, a department's queue and the new request
form. Every page reads requests through `ServiceRequest.objects.visible_to(user)` (a request outside
the scope answers 404) and runs a fixed number of queries whatever the data size; every write is a
call of service/services.py, whose refusals the page shows in the user's language."""

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, Subquery
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext_lazy
from django.views import View
from django.views.decorators.http import require_http_methods, require_safe

from crm.accounts.roles import leads_a_team
from crm.common.errors import Conflict
from crm.common.paging import paginate
from crm.common.scopes import scope_for
from customers.models import Contact, Customer, Station
from managers.models import Manager
from service import services, sla
from service.forms import ACTION_FORMS, RequestForm, RequestListFilter
from service.models import (
    RequestStage,
    RequestStatus,
    ServiceRequest,
    SlaState,
    StageStatus,
)
from service.selectors import staff_department_id

VIEW = "service.view_servicerequest"
ACTIVE_STAGE = [StageStatus.ACTIVE, StageStatus.WAITING_CUSTOMER]
ACTIVE_REQUEST = [RequestStatus.OPEN, RequestStatus.WAITING_CUSTOMER]
QUEUE_ROWS = 200
QUEUE_COLUMNS = (
    "code", "name", "status", "wait_reason", "unit", "warn_at", "due_at", "done_at", "waiting_since",
    "department__name", "request__number", "request__kind", "request__customer_id",
    "request__applicant_name", "request__applicant_address", "request__applicant_phone",
    "request__customer__name", "request__customer__account_no", "request__customer__address",
    "request__station__name",
)  # fmt: skip
APPLICANT_FIELDS = (
    "applicant_name",
    "applicant_phone",
    "applicant_address",
    "capacity_kva",
    "voltage_kv",
    "station",
)


# ---------------------------------------------------------------- a clock, as a page shows it
@dataclass(frozen=True)
class ClockShown:
    state: str  # SlaState as of now, or "done" / "paused" / "idle"
    text: str  # "2 working days left", "3 working hours late", ...
    due: str  # the due instant as a reader counts it: a working day's end is its 24:00


def clock_shown(item, calendar, now: dt.datetime) -> ClockShown:
    """A stage's or a request's clock as of now (service/sla.py), for a page: time left or how late
    in the clock's unit; a finished one says whether it was on time, a waiting one that it stands."""
    due = sla.due_label(item.due_at, item.unit) or "—"
    read = sla.reading(
        calendar,
        unit=item.unit,
        warn_at=item.warn_at,
        due_at=item.due_at,
        done_at=item.done_at,
        waiting_since=item.waiting_since,
        now=now,
    )
    if read is None:
        return ClockShown("idle", "", due)
    if item.done_at is not None:
        if read.late and read.minutes:
            return ClockShown(SlaState.BREACHED, _("Done %(late)s late") % {"late": read.span}, due)
        return ClockShown("done", _("Done on time"), due)
    if item.waiting_since is not None:
        return ClockShown("paused", _("Paused for the customer: %(text)s") % {"text": read.text}, due)
    return ClockShown(read.state, read.text, due)


def _request_at(state: str, now: dt.datetime) -> Q:
    """Active requests whose own clock or active stage is at `state` as of now (a breach of either
    wins over a warning of the other)."""
    stages = RequestStage.objects.filter(request_id=OuterRef("pk"), status__in=ACTIVE_STAGE)

    def at(wanted: str) -> Q:
        return sla.sla_now_q(wanted, now) | Q(Exists(stages.filter(sla.sla_now_q(wanted, now))))

    found = at(state)
    if state == SlaState.WARNING:
        found &= ~at(SlaState.BREACHED)
    return Q(status__in=ACTIVE_REQUEST) & found


# ---------------------------------------------------------------- the request's page
def errors_onto(form, exc: ValidationError, aliases: dict | None = None) -> None:
    """A service's refusal on the form's fields (a field the form does not have: on the form), so
    the page shows it where the input was, nothing written."""
    pairs = exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]
    for field, errors in pairs:
        field = (aliases or {}).get(field, field)
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def _may_work_stage(user, request: ServiceRequest, stage: RequestStage | None) -> bool:
    """Its department's staff, or whoever oversees the request: the owner, a team lead of the scope,
    an administrator (services._may_work has the last word)."""
    if stage is None or not user.has_perm("service.change_requeststage"):
        return False
    if request.owner_id == user.pk or leads_a_team(user):
        return True
    return stage.department_id is not None and stage.department_id == staff_department_id(user)


def _may_carry(user, request: ServiceRequest) -> bool:
    """Close and cancel: the owner, a supervisor of the scope, or an administrator."""
    if not user.has_perm("service.change_servicerequest"):
        return False
    return request.owner_id == user.pk or leads_a_team(user)


class RequestDetail(LoginRequiredMixin, PermissionRequiredMixin, View):
    """The request's page (GET) and its actions (POST, `action` names which): each action calls its
    service and comes back here (or to the department's queue, `next=queue`) with a message."""

    model = ServiceRequest  # the object the page shows (tests/crm/test_query_counts.py reads it)
    permission_required = VIEW
    http_method_names = ["get", "post", "head", "options"]

    def handle_no_permission(self):
        # a visitor not logged in is sent to log in; a user without the permission is refused
        if self.request.user.is_authenticated:
            raise PermissionDenied
        return super().handle_no_permission()

    def get_request(self, pk: int) -> ServiceRequest:
        requests = ServiceRequest.objects.visible_to(self.request.user).select_related(
            "customer", "station", "owner", "follow_up"
        )
        return get_object_or_404(requests, pk=pk)

    def get(self, request, pk: int):
        return self.page(self.get_request(pk))

    def post(self, request, pk: int):
        service_request = self.get_request(pk)
        action = request.POST.get("action", "")
        form_class = ACTION_FORMS.get(action)
        if form_class is None:
            messages.error(request, _("Unknown action."))
            return self.back(service_request)
        form = form_class(request.POST)
        if not form.is_valid():
            return self.page(service_request, bound={action: form}, status=400)
        try:
            done = self.act(action, service_request, form.cleaned_data)
        except ValidationError as exc:
            errors_onto(form, exc)
            return self.page(service_request, bound={action: form}, status=400)
        except Conflict as exc:
            messages.error(request, self.conflict_message(action, service_request, form.cleaned_data, exc))
        except PermissionDenied as exc:
            messages.error(request, str(exc) or _("You may not do this on this request."))
        else:
            messages.success(request, done)
        return self.back(service_request)

    def act(self, action: str, service_request: ServiceRequest, data: dict) -> str:
        user = self.request.user
        if action == "advance":
            stage = services.stage_advance(
                request=service_request, stage_code=data["stage"], by=user, note=data.get("note", "")
            )
            return _("Stage “%(stage)s” completed.") % {"stage": stage.name}
        if action == "wait":
            services.request_wait_customer(request=service_request, reason=data["reason"], by=user)
            return _("The clock is paused until the customer is ready.")
        if action == "resume":
            services.request_resume(request=service_request, by=user)
            return _("The clock runs again.")
        if action == "close":
            services.request_close(request=service_request, by=user)
            return _("Request closed.")
        if action == "cancel":
            services.request_cancel(request=service_request, reason=data["reason"], by=user)
            return _("Request cancelled.")
        services.callback_record(
            request=service_request,
            reached=data["reached"],
            satisfaction=data.get("satisfaction"),
            comment=data.get("comment", ""),
            by=user,
        )
        return _("Callback recorded.")

    def conflict_message(self, action: str, service_request, data: dict, exc: Conflict) -> str:
        """A stage someone else completed a moment before reads as that, not as a bare refusal."""
        if action == "advance":
            stage = service_request.stages.filter(code=data["stage"]).first()
            if stage is not None and stage.status == StageStatus.DONE:
                return _("This stage was already completed by someone else.")
        return str(exc.detail)

    def back(self, service_request: ServiceRequest) -> HttpResponseRedirect:
        if self.request.POST.get("next") == "queue":
            return redirect("service:queue")
        return redirect("service:request", pk=service_request.pk)

    def page(self, service_request: ServiceRequest, *, bound: dict | None = None, status: int = 200):
        user, now = self.request.user, timezone.now()
        calendar = sla.board_calendar(now)
        stages = list(service_request.stages.select_related("department", "done_by").order_by("position"))
        for stage in stages:
            stage.clock = clock_shown(stage, calendar, now)
        active = next((s for s in stages if s.status in ACTIVE_STAGE), None)
        forms_ = {name: form_class() for name, form_class in ACTION_FORMS.items()}
        if active is not None:
            forms_["advance"] = ACTION_FORMS["advance"](initial={"stage": active.code})
        forms_.update(bound or {})
        is_active = service_request.is_active
        callbacks = list(service_request.callbacks.select_related("by"))
        may_carry = _may_carry(user, service_request)
        may_work = _may_work_stage(user, service_request, active)
        can = {
            # a stage waiting for the customer may be completed as it is (services.stage_advance)
            "advance": is_active and active is not None and may_work,
            "wait": is_active
            and may_work
            and active is not None
            and active.status == StageStatus.ACTIVE
            and active.pauses_for_customer,
            "resume": is_active
            and may_work
            and active is not None
            and active.status == StageStatus.WAITING_CUSTOMER,
            "close": is_active
            and may_carry
            and bool(stages)
            and all(s.status == StageStatus.DONE for s in stages),
            "cancel": is_active and may_carry,
            # once the customer was reached the callback is made; one not reached is tried again
            "callback": service_request.status == RequestStatus.CLOSED
            and user.has_perm("service.add_callback")
            and not any(c.reached for c in callbacks),
        }
        events = list(service_request.events.select_related("by", "stage").order_by("at", "id"))
        return render(
            self.request,
            "service/request_detail.html",
            {
                "req": service_request,
                "stages": stages,
                "active": active,
                "total": clock_shown(service_request, calendar, now),
                "events": events,
                "callbacks": callbacks,
                "forms": forms_,
                "can": can,
                "any_action": any(can.values()),
                "customer_link": service_request.customer_id is not None
                and user.has_perm("customers.view_customer"),
            },
            status=status,
        )


# ---------------------------------------------------------------- the manager's requests
TABS = [
    ("active", pgettext_lazy("requests tab", "In progress")),
    ("waiting", _lazy("Waiting for the customer")),
    ("warning", _lazy("At warning")),
    ("breached", _lazy("Breached")),
    ("all", pgettext_lazy("requests tab", "All")),
]


def _tab_filters(now: dt.datetime) -> dict[str, Q]:
    return {
        "active": Q(status__in=ACTIVE_REQUEST),
        "waiting": Q(status=RequestStatus.WAITING_CUSTOMER),
        "warning": _request_at(SlaState.WARNING, now),
        "breached": _request_at(SlaState.BREACHED, now),
        "all": Q(),
    }


def _owners(user) -> list[tuple[int, str]]:
    """The managers whose requests a team lead may filter by (one query)."""
    managers = Manager.objects.visible_to(user).select_related("user").order_by("user__full_name")
    return [(m.user_id, m.user.display_name) for m in managers]


@login_required
@permission_required(VIEW, raise_exception=True)
@require_safe
def request_list(request):
    user, now = request.user, timezone.now()
    if staff_department_id(user) is not None:
        return redirect("service:queue")  # department staff work from their department's queue
    team_lead = leads_a_team(user)
    filterset = RequestListFilter(
        request.GET,
        queryset=ServiceRequest.objects.visible_to(user),
        request=request,
        owners=_owners(user) if team_lead else None,
    )
    requests = filterset.qs
    filters = _tab_filters(now)
    tab = request.GET.get("tab") if request.GET.get("tab") in filters else "active"
    counts = requests.aggregate(**{name: Count("pk", filter=q) for name, q in filters.items()})
    current = Prefetch(
        "stages",
        queryset=RequestStage.objects.filter(status__in=ACTIVE_STAGE).select_related("department"),
        to_attr="current_stages",
    )
    rows = requests.select_related("customer", "station", "owner").prefetch_related(current)
    if tab != "all":  # the work still to do: soonest due first; "all" keeps the newest first
        rows = rows.filter(filters[tab]).order_by(F("due_at").asc(nulls_last=True), "-id")
    page = paginate(rows, request, count=counts[tab])
    calendar = sla.board_calendar(now)
    for row in page.object_list:
        row.clock = clock_shown(row, calendar, now) if row.is_active else None
        row.current = row.current_stages[0] if row.current_stages else None
        if row.current is not None:
            row.current.clock = clock_shown(row.current, calendar, now)
    return render(
        request,
        "service/request_list.html",
        {
            "filterset": filterset,
            "form": filterset.form,
            "page": page,
            "tabs": [(name, label, counts[name]) for name, label in TABS],
            "tab": tab,
            "team_lead": team_lead,
            "may_open": user.has_perm("service.add_servicerequest"),
        },
    )


# ---------------------------------------------------------------- the department's queue
def _request_url():
    """A request page's address by id, reversed once: a queue of 200 cards reversed it 400 times."""
    prefix = reverse("service:request", args=[1]).removesuffix("1/")
    return lambda pk: f"{prefix}{pk}/"


@login_required
@permission_required(VIEW, raise_exception=True)
@require_safe
def queue(request):
    """A department's staff: the active stages of their department, most urgent first, each with
    what the work needs (who, where, which phone) and a one-tap "done"."""
    user, now = request.user, timezone.now()
    department_id = staff_department_id(user)
    stages = []
    total = 0
    if department_id is not None:
        primary = Contact.objects.filter(customer_id=OuterRef("request__customer_id"), is_primary=True)
        found = (
            RequestStage.objects.filter(
                department_id=department_id,
                status__in=ACTIVE_STAGE,
                request__status__in=ACTIVE_REQUEST,
                request__in=ServiceRequest.objects.visible_to(user),
            )
            .select_related("request", "request__customer", "request__station", "department")
            # only what the cards show: a customer's row is wide, and 200 whole customers (and
            # requests) built for a name and an address were half the page's time over its floor
            .only(*QUEUE_COLUMNS)
            .annotate(
                contact_name=Subquery(primary.values("name")[:1]),
                contact_phone=Subquery(primary.values("phone")[:1]),
            )
            .order_by(F("due_at").asc(nulls_last=True), "id")
        )
        stages = list(found[: QUEUE_ROWS + 1])
        total = len(stages)
        calendar = sla.board_calendar(now)
        url = _request_url()
        for stage in stages:
            stage.clock = clock_shown(stage, calendar, now)
            stage.url = url(stage.request_id)
    return render(
        request,
        "service/queue.html",
        {
            "stages": stages[:QUEUE_ROWS],
            "truncated": total > QUEUE_ROWS,
            "is_staff": department_id is not None,
            "department": stages[0].department if stages else None,
        },
    )


# ---------------------------------------------------------------- a new request
def _stations_for(user):
    scope = scope_for(user)
    if scope.sees_all:
        return Station.objects.order_by("name")
    return Station.objects.filter(
        pk__in=Manager.objects.filter(user_id__in=scope.user_ids).values("station_id")
    ).order_by("name")


@login_required
@permission_required("service.add_servicerequest", raise_exception=True)
@require_http_methods(["GET", "POST"])
def request_new(request):
    user = request.user
    customers = Customer.objects.visible_to(user)
    customer = follow_up = None
    wanted = request.GET.get("customer", "")
    if wanted.isdigit():
        customer = get_object_or_404(customers.select_related("station"), pk=int(wanted))
    wanted = request.GET.get("follow_up", "")
    if wanted.isdigit():
        from visits.models import FollowUp

        follow_up = get_object_or_404(
            FollowUp.objects.visible_to(user).select_related("report__task__customer", "service_request"),
            pk=int(wanted),
        )
        customer = follow_up.report.task.customer
        if hasattr(follow_up, "service_request"):
            messages.info(request, _("This follow-up has its request already."))
            return redirect("service:request", pk=follow_up.service_request.pk)
    form = RequestForm(
        request.POST or None,
        customers=customers,
        stations=_stations_for(user),
        customer=customer,
        follow_up=follow_up,
    )
    if request.method == "POST" and form.is_valid():
        try:
            opened = services.request_open(by=user, **form.open_arguments())
        except ValidationError as exc:
            errors_onto(form, exc, aliases={"customer": "account_no", "applicant": "applicant_name"})
        except Conflict as exc:
            form.add_error(None, str(exc.detail))
        else:
            messages.success(
                request, _("Request %(number)s opened.") % {"number": opened.number or opened.pk}
            )
            return redirect("service:request", pk=opened.pk)
    return render(
        request,
        "service/request_form.html",
        {
            "form": form,
            "customer": form.customer or customer,
            "follow_up": follow_up,
            "applicant_fields": [form[name] for name in APPLICANT_FIELDS],
        },
        status=400 if form.is_bound and form.errors else 200,
    )
