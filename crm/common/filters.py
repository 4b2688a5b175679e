"""Query-parameter filtering of the API lists (api.md: filters named after fields, ?search=, ?ordering=).

Semantics, the same on every list:
- an id filter (`?manager=12`, `?customer=7`) takes a whole number: anything else answers 400; an id
  that does not exist or lies outside the user's scope simply matches nothing (an empty page tells
  nothing about objects one may not see);
- a choice filter (`?tier=vip`) takes one of the documented codes: anything else answers 400;
- `?ordering=` names fields from the documented list, comma-separated, `-` for descending; unknown
  names are ignored (DRF semantics); ties are broken by id so that pages never overlap or skip rows.
"""

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters

from crm.common.fields import MAX_ID


class _IdField(forms.IntegerField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)

    def clean(self, value):
        # Out of range is a well-formed id that matches nothing, not an error of the client.
        try:
            return super().clean(value)
        except forms.ValidationError as exc:
            if exc.code in {"min_value", "max_value"}:
                return 0
            raise


class IdFilter(django_filters.NumberFilter):
    """`?<field>=<id>`: the id of a related object."""

    field_class = _IdField


class OrderingFilter(filters.OrderingFilter):
    """DRF's ordering with a final `pk` tie-breaker, so paging through any ordering is stable."""

    def filter_queryset(self, request, queryset, view):
        ordering = self.get_ordering(request, queryset, view)
        if not ordering:
            ordering = list(queryset.query.order_by or queryset.model._meta.ordering or [])
        ordering = list(ordering)
        if not any(isinstance(term, str) and term.lstrip("-") in {"pk", "id"} for term in ordering):
            ordering.append("pk")
        return queryset.order_by(*ordering)


FILTER_BACKENDS = [
    DjangoFilterBackend,
    filters.SearchFilter,
    OrderingFilter,
]
