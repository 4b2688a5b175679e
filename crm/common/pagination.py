"""The one pagination of the API (api.md, "Lists are paginated").

`{"count", "next", "previous", "results"}` with `?page=` and `?page_size=`. Decisions on odd input,
so that a client never sees a 500 and never silently gets something else than it asked for:
- `page_size` above 500 is clamped to 500 (DRF semantics: a cut-off, not an error);
- `page` or `page_size` that is not a positive whole number answers 400 `{"page": ["..."]}`;
- a well-formed `page` past the last page answers 404 (that page does not exist), as in DRF.
The count of a large list is kept for a short while (crm.common.paging.CountKeepingPaginator).
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

from crm.common.paging import CountKeepingPaginator

MAX_PAGE_SIZE = 500


def _positive_int(raw: str) -> int | None:
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit():
        return None
    number = int(raw)
    return number if number >= 1 else None


class PageNumberPagination(pagination.PageNumberPagination):
    django_paginator_class = CountKeepingPaginator
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    page_query_description = _("A page number within the paginated result set (1 is the first).")
    page_size_query_description = _("Number of results per page (at most 500).")

    def get_schema_operation_parameters(self, view):
        """The bounds the answers enforce, so that generated clients send what is accepted."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["allowEmptyValue"] = True  # ?page= is the first page, ?page_size= the default
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1  # above 500 is cut to 500, not refused
        return parameters

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        number = _positive_int(raw)
        if number is None:
            raise ValidationError({self.page_size_query_param: [_("Enter a whole number from 1 to 500.")]})
        return min(number, self.max_page_size)

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw is None or raw == "":
            return 1
        if raw in self.last_page_strings:
            return paginator.num_pages
        number = _positive_int(raw)
        if number is None:
            raise ValidationError({self.page_query_param: [_("Enter a whole number of at least 1.")]})
        return number
