"""Every string field of the API takes a string, as the schema says (`type: string`).

DRF's CharField turns a JSON number into its digits: `{"name": 0}` renamed a station "0", and the
schema, which allows strings only, did not describe what the server accepted. The fields' own class
is made strict, once, at start-up (CommonConfig.ready), rather than in a subclass each serializer
would have to remember: every CharField, its subclasses (email, slug, regex, URL fields) and those
that serializers generate from model fields refuse anything but a string with their "invalid" error.
A form-encoded or multipart body carries strings only, so only JSON bodies meet the difference."""

from rest_framework import serializers

# The pattern of a string with no NUL character, which Django's and DRF's CharFields refuse (their
# ProhibitNullCharactersValidator), for the schema of every string a request sends.
NO_NUL = "^[^\\x00]*$"

_drf_to_internal_value = serializers.CharField.to_internal_value


def _to_internal_value(field: serializers.CharField, data):
    if not isinstance(data, str):
        field.fail("invalid")
    return _drf_to_internal_value(field, data)


def make_string_fields_strict() -> None:
    serializers.CharField.to_internal_value = _to_internal_value
