"""The 超时预警 board (service.md, "SLA state"): what is at warning or breached as of now, by station
and by department, with how late, filterable by station and department. Supervisors see their
team's requests, administrators all, department staff their department's stages, managers their own
(ServiceRequest.objects.visible_to, through service.sla.board_for). The viewer's own unread alerts
head the page and are marked read once shown. A fixed number of queries whatever the data size."""

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from crm.common.fields import MAX_ID
from service.alerts import alerts_for, alerts_mark_read
from service.sla import board_for, board_items, due_label

SHOWN = 50  # rows of each list on the page: the counts above say how many there are in all
ALERTS_SHOWN = 20


class BoardFilterForm(forms.Form):
    """`?station=&department=`: ids (the page offers those with anything late as choices)."""

    station = forms.IntegerField(
        label=_("Supply station"), required=False, min_value=1, max_value=MAX_ID, widget=forms.Select
    )
    department = forms.IntegerField(
        label=_("Department"), required=False, min_value=1, max_value=MAX_ID, widget=forms.Select
    )

    def filters(self) -> dict:
        """The valid filters (a value that does not validate is left out and shown as an error)."""
        self.is_valid()
        return {
            "station_id": self.cleaned_data.get("station"),
            "department_id": self.cleaned_data.get("department"),
        }


def _with_choices(form: BoardFilterForm, field: str, everything: str, pairs) -> None:
    chosen = form.cleaned_data.get(field) if form.is_valid() else None
    choices = [("", everything), *pairs]
    if chosen is not None and all(pk != chosen for pk, _name in pairs):
        choices.append((chosen, _("(nothing late)")))  # keep a choice that has nothing late in sight
    form.fields[field].widget.choices = choices


@login_required
@permission_required("service.view_servicerequest", raise_exception=True)
@require_safe
def board(request):
    form = BoardFilterForm(request.GET)
    now = timezone.now()
    the_board = board_for(user=request.user, now=now, **form.filters())
    stages, requests = board_items(
        the_board, stages=the_board.stages[:SHOWN], requests=the_board.requests[:SHOWN]
    )
    _with_choices(form, "station", _("All stations"), the_board.stations)
    _with_choices(form, "department", _("All departments"), the_board.departments)
    alerts = list(alerts_for(request.user)[:ALERTS_SHOWN])
    if alerts:
        alerts_mark_read(user=request.user, alert_ids=[a.pk for a in alerts])
    for alert in alerts:
        clock = alert.stage or alert.request
        alert.due_label = due_label(clock.due_at, clock.unit)
    return render(
        request,
        "service/board.html",
        {
            "form": form,
            "board": the_board,
            "stages": stages,
            "requests": requests,
            "stages_more": max(0, the_board.stage_total - len(stages)),
            "requests_more": max(0, the_board.request_total - len(requests)),
            "alerts": alerts,
        },
    )
