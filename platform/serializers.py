"""Serializer fields every API's response bodies share. A response body is one serializer that both
renders it and documents it (drf-spectacular reads the same fields), so a field's class is its
type in the schema: these keep that true for times and for values computed from the object."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rest_framework import serializers

from platform.clock import ms


class EpochMsField(serializers.IntegerField):
    """A datetime as epoch milliseconds, the API's time format; an integer in the schema."""

    def to_representation(self, value: datetime) -> int:  # type: ignore[override]  # a datetime in, an int out
        return ms(value)


class ComputedMixin(serializers.Field):
    """The field's value is `compute(obj)` of the whole object, rendered (and documented) as the
    field class it is mixed into; None renders as null. For values no attribute holds as such:
    `x or None`, a state derived from a timestamp, a URL built from a secret."""

    def __init__(self, *args: Any, compute: Callable[[Any], Any], **kwargs: Any) -> None:
        self.compute = compute
        super().__init__(*args, source="*", **kwargs)

    def to_representation(self, instance: Any) -> Any:
        value = self.compute(instance)
        return None if value is None else super().to_representation(value)


class ComputedBooleanField(ComputedMixin, serializers.BooleanField):
    pass


class ComputedCharField(ComputedMixin, serializers.CharField):
    pass


class ComputedChoiceField(ComputedMixin, serializers.ChoiceField):
    pass


class ComputedEpochMsField(ComputedMixin, EpochMsField):
    pass


class ContextCharField(serializers.CharField):
    """A value the object does not hold, given in the serializer's context under the field's name
    (a secret shown once, when it is made)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", **kwargs)

    def to_representation(self, instance: Any) -> str:
        return self.context[self.field_name or ""]


class RelatedIdsField(serializers.ListField):
    """A to-many relation as the list of its objects' primary keys (the child field renders one);
    `.all()` uses what the selector prefetched."""

    def to_representation(self, related: Any) -> list:
        return [self.child.to_representation(obj.pk) for obj in related.all()]



class JsonTypeMixin(serializers.Field):
    """The field takes only its JSON type: DRF's fields also read "yes" or 0 as a boolean, 10 as
    a string and "10" as an integer, which the schema's types refuse, so a client relying on that
    would pass here and fail against any other implementation of the contract. Write bodies are
    JSON only, so a well-typed client loses nothing."""

    json_types: tuple[type, ...] = ()

    def to_internal_value(self, data: Any) -> Any:
        # bool is an int in Python but not an integer in JSON.
        if not isinstance(data, self.json_types) or (isinstance(data, bool) and bool not in self.json_types):
            self.fail("invalid")
        return super().to_internal_value(data)


class JsonBooleanField(JsonTypeMixin, serializers.BooleanField):
    json_types = (bool,)


class JsonCharField(JsonTypeMixin, serializers.CharField):
    json_types = (str,)


class JsonRegexField(JsonTypeMixin, serializers.RegexField):
    json_types = (str,)


class JsonEmailField(JsonTypeMixin, serializers.EmailField):
    json_types = (str,)


class JsonIntegerField(JsonTypeMixin, serializers.IntegerField):
    json_types = (int,)


# A query parameter's integer: ASCII digits, an optional leading minus. Python's int() also takes
# "1_000", " 5" and any Unicode digit ("٥"), and DRF's IntegerField "5.0": no other implementation
# of the contract would, so a client relying on them would break there.
_QUERY_INTEGER = re.compile(r"-?[0-9]+")


def query_int(text: str) -> int:
    """The integer a query parameter spells, or ValueError (the caller says what to send)."""
    if not _QUERY_INTEGER.fullmatch(text):
        raise ValueError(text)
    return int(text)


class QueryIntegerField(serializers.IntegerField):
    """An integer query parameter, spelt as query_int takes it; the field's `invalid` message otherwise."""

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return query_int(data)
        except ValueError:
            self.fail("invalid")


def items_param(query: Any, default: int, maximum: int) -> int:
    """A list's `items` query parameter: 1 to `maximum`, else a 400 saying so (as on bucket data;
    a value out of range used to be clamped on some lists)."""
    text = query.get("items", str(default))
    if not (text.isascii() and text.isdigit() and len(text) <= 6 and 1 <= int(text) <= maximum):
        raise serializers.ValidationError({"items": f"Use an integer from 1 to {maximum}."})
    return int(text)
