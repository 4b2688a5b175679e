"""The API's JSON parser: DRF's, refusing a body nested too deeply with the API's 400 shape.

Python's JSON decoder recurses once per level and raises `RecursionError` (not `ValueError`) near the
interpreter's recursion limit (about 900 levels inside a request); DRF's parser catches only
`ValueError`, so such a body answered 500. It is malformed input like any other, and says so."""

import codecs
from decimal import Decimal

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return self.decode(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - the body is nested too deeply.")) from None

    def decode(self, stream, media_type, parser_context):
        """DRF's parse; a subclass may decode otherwise and keep the refusal above."""
        return super().parse(stream, media_type, parser_context)


class DecimalJSONParser(JSONParser):
    """JSON numbers as Decimal, not float or int, for endpoints that store decimals (consumption/bulk/):
    a float turns 1e-20000 into 0.0, 1e400 into inf and 12.345678901234567890 into 12.345678901234567
    before any check can see what was sent, and an integer of 5,000 digits fails the whole body
    (Python's limit on int conversion) where it is one row's bad value. Not the API's default: a
    Decimal in request.data would fail DRF's JSONField (json.dumps refuses it)."""

    def decode(self, stream, media_type, parser_context):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            return json.load(codecs.getreader(encoding)(stream), parse_float=Decimal, parse_int=Decimal)
        except ValueError as exc:  # as DRF's parser words it
            raise ParseError(f"JSON parse error - {exc}") from None
