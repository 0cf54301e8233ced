"""The one body parser and renderer of the JSON API.

Write bodies are JSON only (what the contract and the schema say): a form or multipart body
would silently drop nested objects such as `config`, so it is refused with 415 instead. The
body is parsed with the payload rules of platform/payloads.py (UTF-8 whatever the declared
charset, depth cap, no NaN or Infinity, no NUL or unpaired surrogate, bounded numbers), exactly
as the device callback parses its body, so a deeply nested body is a 400 before any view or
serializer recurses into it."""
from django.conf import settings
from rest_framework import renderers, status
from rest_framework.exceptions import APIException, NotAcceptable, ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser

from platform.payloads import PayloadError, is_json_media_type, json_parse


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Body too large: send less at a time."


class JSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        # DRF reads the request stream itself, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE check.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1 if limit else -1) if stream is not None else b""
        if limit and len(body) > limit:
            raise BodyTooLarge(f"Body too large: at most {limit} bytes.")
        if not body.strip():
            # An empty body is "no data" (DRF's own rule for a missing body), judged by the view.
            return {}
        # The bytes, not text decoded with the declared charset: JSON is UTF-8 whatever the
        # Content-Type says, as the device callback reads it (platform/payloads.py's json_parse).
        try:
            return json_parse(body)
        except PayloadError as exc:
            raise ParseError(str(exc)) from None


class JSONRenderer(renderers.JSONRenderer):
    """DRF's renderer, but a string the client sent with an unpaired surrogate, echoed back in an
    error message, is escaped (\\udXXX) instead of failing to encode."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            self.ensure_ascii = True  # type: ignore[misc]  # this instance only; the stubs say ClassVar
            return super().render(data, accepted_media_type, renderer_context)


class JSONOnly(DefaultContentNegotiation):
    """An Accept header no renderer can satisfy (`text/html` alone) gets the view's first
    rendering (JSON on every API route) rather than a 406: an error must still say what is wrong.
    A body is JSON by the callback's rule (platform/payloads.py): `application/json` or any
    `+json` type, such as `application/merge-patch+json` (DRF matches `application/json` only)."""

    def select_parser(self, request, parsers):
        json_parser = next((parser for parser in parsers if isinstance(parser, JSONParser)), None)
        if json_parser is not None and is_json_media_type(request.content_type):
            return json_parser
        return super().select_parser(request, parsers)

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type
