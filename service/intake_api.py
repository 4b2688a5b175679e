"""`POST call-centre/tickets/batch/`: many 95598 tickets in one post, for the call centre's system
catching up (service/intake.py). Each item is the body `call-centre/tickets/` takes; the answer
lists, in the order posted, each ticket's request and whether this post made it. All or nothing:
a bad item refuses the batch with every bad item's index (0 for the first) and fields."""

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.common.permissions import ModelPermissions
from service import listing
from service.api import ServiceRequestSerializer, StationRefField, TicketSerializer
from service.intake import MAX_TICKETS, BatchRefused, Ticket, tickets_open
from service.models import ServiceRequest
from service.services import Applicant


class _StationRef(StationRefField):
    """A station by id or code, checked for its shape here and looked up with the batch's others."""

    def to_internal_value(self, data):
        ref = self.reference(data)
        if ref is None:
            self.fail("does_not_exist")
        return ref


class _BatchTicketSerializer(TicketSerializer):
    """A ticket of a batch: its own fields checked here; its account number, station, template and
    owner are looked up with the whole batch's (service.intake)."""

    station = _StationRef(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        self.party_given(attrs)
        return attrs


_ERROR = inline_serializer(
    name="CallCentreTicketError",
    fields={
        "index": serializers.IntegerField(help_text="the item's place in the list posted, 0 for the first"),
        "ticket_no": serializers.CharField(allow_null=True),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()), help_text='{"field": ["message"]}'
        ),
    },
)
_REFUSED = inline_serializer(
    name="CallCentreTicketBatchRefused",
    fields={
        "errors": serializers.ListField(child=_ERROR, required=False),
        "non_field_errors": serializers.ListField(child=serializers.CharField(), required=False),
    },
)
_TAKEN = inline_serializer(
    name="CallCentreTicketTaken",
    fields={
        "ticket_no": serializers.CharField(),
        "created": serializers.BooleanField(
            help_text="true: this post opened the request; false: the ticket number had it already"
        ),
        "request": ServiceRequestSerializer(),
    },
)
_ANSWER = inline_serializer(
    name="CallCentreTicketBatch",
    fields={
        "created": serializers.IntegerField(help_text="requests this post opened"),
        "repeated": serializers.IntegerField(help_text="tickets whose number had a request already"),
        "results": serializers.ListField(child=_TAKEN),
    },
)


def _ticket(data: dict) -> Ticket:
    applicant = data["applicant"]
    return Ticket(
        ticket_no=data["ticket_no"],
        kind=data["kind"],
        subtype=data["subtype"],
        account_no=data["account_no"],
        applicant=Applicant(**applicant) if applicant else None,
        station=data["station"],
        description=data["description"],
        received_at=data["received_at"],
    )


class CallCentreTicketBatchView(APIView):
    """Up to 1,000 95598 tickets in one post (a JSON list of call-centre/tickets/ bodies): 201 when
    it opened any request, 200 when every ticket number had its request already. A ticket number
    repeated, in an earlier post or in this one, answers the request it made, never a second one."""

    permission_classes = [ModelPermissions]
    queryset = ServiceRequest.objects.none()  # for the model permissions: POST needs add_servicerequest

    @extend_schema(
        request=TicketSerializer(many=True, allow_empty=False, max_length=MAX_TICKETS),
        responses={
            201: _ANSWER,
            200: _ANSWER,
            400: OpenApiResponse(_REFUSED, description="Bad tickets (nothing written), or not a list."),
        },
        operation_id="call_centre_tickets_batch_create",
    )
    def post(self, request):
        items = request.data
        if not isinstance(items, list) or not items:
            return self._refused(non_field=_("Send a non-empty JSON list of tickets."))
        if len(items) > MAX_TICKETS:
            message = _("At most %(n)s tickets per post.") % {"n": MAX_TICKETS}
            return self._refused(non_field=message)
        tickets, refused = self._read(items)
        try:
            taken = tickets_open(tickets=tickets, by=request.user, refused=refused)
        except BatchRefused as exc:
            return self._refused(errors=exc.errors)
        rows = listing.listed(ServiceRequest.objects.filter(pk__in={t.request_id for t in taken}))
        answered = {row["id"]: row for row in listing.requests_listed(list(rows), now=timezone.now())}
        created = sum(t.created for t in taken)
        body = {
            "created": created,
            "repeated": len(taken) - created,
            "results": [
                {"ticket_no": t.ticket_no, "created": t.created, "request": answered[t.request_id]}
                for t in taken
            ],
        }
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def _read(self, items: list) -> tuple[list[Ticket | None], list[dict]]:
        """Each item through the ticket's own checks: the tickets read (None where refused) and
        the refusals, each with its index."""
        # one serializer for every item, as ListSerializer does: its fields are built once, not
        # copied again for each of a thousand tickets
        reader = _BatchTicketSerializer(context={"request": self.request})
        tickets, refused = [], []
        for index, item in enumerate(items):
            try:
                tickets.append(_ticket(reader.run_validation(item)))
            except serializers.ValidationError as exc:
                tickets.append(None)
                number = item.get("ticket_no") if isinstance(item, dict) else None
                errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
                refused.append(
                    {
                        "index": index,
                        "ticket_no": number if isinstance(number, str) else None,
                        "errors": errors,
                    }
                )
        return tickets, refused

    @staticmethod
    def _refused(*, errors: list[dict] | None = None, non_field: str | None = None) -> Response:
        body = {"errors": errors} if errors is not None else {"non_field_errors": [non_field]}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
