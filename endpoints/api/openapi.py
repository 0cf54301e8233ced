"""OpenAPI pieces of the endpoints and connections APIs that no response serializer carries:
ThingPark's error body, its paging parameters and headers (drf-spectacular). The bodies
themselves are documented by the serializers that render them (endpoints/serializers.py)."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from endpoints.serializers import DELIVERY_STATES


class ThingParkErrorSchema(serializers.Serializer):
    code = serializers.CharField(help_text="com-4000 (400), com-4001 (401), com-4004 (404)")
    message = serializers.CharField()


PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="default 1"),
    OpenApiParameter("perPage", int, description="default 20, max 100"),
    *(OpenApiParameter(name, int, location=OpenApiParameter.HEADER, response=[200], description=text)
      for name, text in (("X-Total", "rows in all pages"), ("X-Total-Pages", "number of pages"),
                         ("X-Page", "this page"), ("X-Per-Page", "rows per page"))),
]

STATE_PARAMETER = OpenApiParameter("state", str, enum=DELIVERY_STATES)


def thingpark_errors(*codes):
    text = {400: "Invalid input (com-4000).", 401: "No or invalid access token (com-4001).",
            404: "Not found, or another user's (com-4004)."}
    return {code: OpenApiResponse(ThingParkErrorSchema, description=text[code]) for code in sorted({401, 404, *codes})}


# A message sent to an endpoint now: any JSON.
ANY_JSON = OpenApiTypes.ANY