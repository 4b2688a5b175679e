"""Query-parameter filtering of the API lists (api.md: filters named after fields, ?search=, ?ordering=).

Semantics, the same on every list (FilterSets derive from `FilterSet` below):
- an id filter (`?manager=12`, `?customer=7`) takes a whole number: anything else answers 400; an id
  that does not exist or lies outside the user's scope simply matches nothing (an empty page tells
  nothing about objects one may not see);
- a choice filter (`?tier=vip`) takes one of the documented codes: anything else answers 400;
- a yes/no filter (`?active=true`) takes true/false (or 1/0): anything else answers 400, rather than
  silently returning everything as django-filter would;
- `?search=` is free text; `?ordering=` names fields from the documented list, comma-separated, `-`
  for descending; unknown names are ignored (DRF semantics); ties are broken by id so that pages
  never overlap or skip rows.
"""

import django_filters
from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.rest_framework.filterset import FILTER_FOR_DBFIELD_DEFAULTS
from django_filters.widgets import BooleanWidget
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters
from rest_framework.exceptions import ValidationError

from crm.common.fields import MAX_ID


class _IdField(forms.IntegerField):
    def to_python(self, value):
        number = super().to_python(value)
        if number is not None and not 0 < number <= MAX_ID:
            return 0  # a well-formed id that matches nothing, not an error of the client
        return number


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """`?<field>=<id>`: the id of a related object."""

    field_class = _IdField


@extend_schema_field(OpenApiTypes.INT)
class YearFilter(django_filters.NumberFilter):
    """`?year=2026`: a calendar year; anything else (0.0, 1e9, text) answers 400."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("lookup_expr", "year")
        kwargs.setdefault("min_value", 1900)
        kwargs.setdefault("max_value", 2200)
        super().__init__(*args, **kwargs)


class _StrictBooleanWidget(BooleanWidget):
    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        if value is None or value == "":
            return None
        known = {"1": True, "0": False, "true": True, "false": False}
        return known.get(value.lower(), value) if isinstance(value, str) else value


class _StrictBooleanField(forms.NullBooleanField):
    def to_python(self, value):
        if value is None or isinstance(value, bool):
            return value
        raise forms.ValidationError(_("Enter true or false."), code="invalid")


class BooleanFilter(django_filters.BooleanFilter):
    """`?<field>=true|false`."""

    field_class = _StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", _StrictBooleanWidget)
        super().__init__(*args, **kwargs)


class FilterSet(django_filters.rest_framework.FilterSet):
    """Filters generated from model fields follow the semantics above."""

    FILTER_DEFAULTS = {
        **FILTER_FOR_DBFIELD_DEFAULTS,
        models.BooleanField: {"filter_class": BooleanFilter},
        models.ForeignKey: {"filter_class": IdFilter},
        models.OneToOneField: {"filter_class": IdFilter},
    }


class SearchFilter(filters.SearchFilter):
    """DRF's search, with a refused term reported on the `search` parameter like any other field."""

    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except ValidationError as exc:
            raise ValidationError({self.search_param: exc.detail}) from exc


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


FILTER_BACKENDS = [DjangoFilterBackend, SearchFilter, OrderingFilter]
