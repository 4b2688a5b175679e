"""Query-parameter filtering of the API lists (api.md: filters named after fields, ?search=, ?ordering=).

Semantics, the same on every list (FilterSets derive from `FilterSet` below):
- an id filter (`?manager=12`, `?customer=7`) takes a whole number: anything else answers 400; an id
  that does not exist or lies outside the user's scope simply matches nothing (an empty page tells
  nothing about objects one may not see);
- a choice filter (`?tier=vip`) takes one of the documented codes: anything else answers 400;
- a number filter on an integer field (`?year=2026`, `?version=3`) takes a whole number: 1.5, 1e3 or
  text answer 400;
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
from crm.common.serializers import NO_NUL


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
class IntegerFilter(django_filters.NumberFilter):
    """`?<field>=<whole number>` on an integer column: anything else (1.5, 1e3, text), or a number no
    column holds (a signed 64-bit integer; SQLite overflowed), answers 400."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", -MAX_ID - 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


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
        # every integer column django-filter names (it maps each class, not IntegerField's subclasses)
        **{
            field: {"filter_class": IntegerFilter}
            for field in FILTER_FOR_DBFIELD_DEFAULTS
            if issubclass(field, models.IntegerField)
        },
        models.ForeignKey: {"filter_class": IdFilter},
        models.OneToOneField: {"filter_class": IdFilter},
    }


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, whose FilterSets made from a view's `filterset_fields` derive from the
    FilterSet above too."""

    filterset_base = FilterSet


# ---------------------------------------------------------------- the same filters on a page
class PageFilterSet:
    """Mixed into a page's subclass of an API FilterSet: the page filters with the API's filters (the
    same names, lookups and validation) and shows them as its form (`filterset.form`). Where the page
    differs from the API, it does on purpose:
    - a value that does not validate is reported on its field and ignored (FilterSet.qs filters by
      the valid fields only), where the API answers 400;
    - `labels` give the fields the page's words: {name: (label,)} or (label, label of the empty
      "all" option); `present()` may change more (widgets, choices);
    - the page's search box (`search_name`, see `text_search`) is not the API's ?search=."""

    search_name = "q"
    labels: dict[str, tuple] = {}

    def get_form_class(self):
        form_class = super().get_form_class()
        fields = form_class.base_fields  # the filters' own fields, made for this filterset
        for name, (label, *everything) in self.labels.items():
            if name in fields:
                fields[name].label = label
                if everything:
                    fields[name].empty_label = everything[0]
        self.present(fields)
        return form_class

    def present(self, fields: dict) -> None:
        """Presentation beyond the labels, for a page that needs it."""

    @property
    def form(self):
        if not hasattr(self, "_form"):
            super().form.label_suffix = ""  # the pages' labels carry no colon
        return self._form

    @property
    def is_filtered(self) -> bool:
        """Whether a filter beyond the search box holds a valid value (the page opens its filters)."""
        data = getattr(self.form, "cleaned_data", {})
        return any(value not in (None, "") for name, value in data.items() if name != self.search_name)


def text_search(fields: list[str], **kwargs) -> django_filters.CharFilter:
    """A page's search box: the whole text, found anywhere in any of `fields` (the API's
    `search_fields`; the API's ?search= looks for each word of the text instead)."""

    def search(queryset, name, text):
        anywhere = models.Q()
        for field in fields:
            anywhere |= models.Q(**{f"{field}__icontains": text})
        return queryset.filter(anywhere)

    kwargs.setdefault("max_length", 100)
    return django_filters.CharFilter(method=search, **kwargs)


class SearchFilter(filters.SearchFilter):
    """DRF's search, with a refused term reported on the `search` parameter like any other field."""

    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except ValidationError as exc:
            raise ValidationError({self.search_param: exc.detail}) from exc

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["pattern"] = NO_NUL  # the term refused above: a NUL character
        return parameters


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


FILTER_BACKENDS = [FilterBackend, SearchFilter, OrderingFilter]
