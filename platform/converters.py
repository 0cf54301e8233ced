"""The `id` path converter of the web pages: device, bucket, endpoint and property ids match
ID_PATTERN, so a URL with anything else (a NUL, which PostgreSQL refuses in a query and would
turn into a 500) is a 404 before any lookup."""
from django.urls import register_converter

from platform.validators import ID_PATTERN


class IdConverter:
    regex = ID_PATTERN.strip("^$")

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(IdConverter, "id")
