"""The dashboards part of the REST API (docs/dashboards.md). Thin adapters: the owner (404 for
anyone else), a serializer for the dashboard's fields, the services for the rest."""
from contextlib import contextmanager

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboards import selectors, services
from dashboards.serializers import DashboardSchema, DashboardWriteSerializer, ShareSchema
from dashboards.widgets import WidgetError
from platform.auth import owner_or_404
from platform.schema import api_errors

# Request examples: the bodies Swagger UI fills in for "Try it out", so each is one the API accepts
# as is, with the ids the docs use (tests/security/test_api_examples.py sends them all).
_WIDGETS = [
    {"type": "chart", "title": "Temperature", "source": {"bucket": "b1", "fields": ["temperature"], "range": "24h"},
     "options": {"unit": "°C", "decimals": 1}},
    {"type": "status", "source": {"device": "sensor-1"}},
    {"type": "downlink", "title": "LED", "source": {"device": "sensor-1"},
     "options": {"payload": {"led": "on"}, "label": "LED on"}}]
DASHBOARD_EXAMPLE = OpenApiExample("Home", request_only=True, value={
    "dashboard": "home", "name": "Home", "description": "The greenhouse", "widgets": _WIDGETS})
DASHBOARD_CHANGES_EXAMPLE = OpenApiExample("Rename and add a gauge", request_only=True, value={
    "name": "Greenhouse", "widgets": [*_WIDGETS, {
        "type": "gauge", "title": "Battery", "source": {"device": "sensor-1", "property": "last", "field": "battery"},
        "options": {"unit": "%", "min": 0, "max": 100}}]})


@contextmanager
def widget_errors_as_400():
    """A widget that names something wrong becomes a 400 saying where: widgets.2.source.bucket,
    one key per mistake (all of them, the first where it used to be alone)."""
    try:
        yield
    except WidgetError as exc:
        if not exc.path:  # the list itself: there is nothing else to name
            raise serializers.ValidationError({"widgets": exc.message}) from None
        raise serializers.ValidationError({"widgets": {path or "0": message for path, message in exc.problems}}) \
            from None


class DashboardAPIView(APIView):
    def owner(self):
        return owner_or_404(self.request, self.kwargs["user"])

    def dashboard(self):
        return selectors.dashboard_for_owner_or_404(self.owner(), self.kwargs["dashboard"])


class DashboardListApi(DashboardAPIView):
    @extend_schema(operation_id="v1_users_dashboards_list", responses={200: DashboardSchema(many=True), **api_errors()})
    def get(self, request, user):
        return Response(DashboardSchema(selectors.dashboards_list(owner=self.owner()), many=True).data)

    @extend_schema(request=DashboardWriteSerializer, examples=[DASHBOARD_EXAMPLE], responses={201: DashboardSchema, **api_errors(400)})
    def post(self, request, user):
        owner = self.owner()
        serializer = DashboardWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with widget_errors_as_400():
            try:
                created = services.dashboard_create(owner=owner, dashboard_id=data["dashboard"],
                                                    name=data.get("name", ""), description=data.get("description", ""),
                                                    widgets=_widget_list(data.get("widgets", [])))
            except services.DashboardExists as exc:
                raise serializers.ValidationError({"dashboard": str(exc)}) from None
        return Response(DashboardSchema(created).data, status=status.HTTP_201_CREATED)


def _widget_list(value):
    if not isinstance(value, list):
        raise WidgetError("", "Give widgets as a list of objects.")
    return value


class DashboardApi(DashboardAPIView):
    @extend_schema(responses={200: DashboardSchema, **api_errors()})
    def get(self, request, user, dashboard):
        return Response(DashboardSchema(self.dashboard()).data)

    @extend_schema(request=DashboardWriteSerializer(partial=True), examples=[DASHBOARD_CHANGES_EXAMPLE],
                   responses={200: DashboardSchema, **api_errors(400)})
    def put(self, request, user, dashboard):
        # PUT and PATCH both change only the fields given, as for devices and buckets.
        found = self.dashboard()
        serializer = DashboardWriteSerializer(data=request.data, partial=True, context={"dashboard": found})
        serializer.is_valid(raise_exception=True)
        changes = {k: v for k, v in serializer.validated_data.items() if k != "dashboard"}
        with widget_errors_as_400():
            if "widgets" in changes:
                changes["widgets"] = _widget_list(changes["widgets"])
            services.dashboard_update(dashboard=found, **changes)
        return Response(DashboardSchema(found).data)

    patch = put

    @extend_schema(responses={204: None, **api_errors()})
    def delete(self, request, user, dashboard):
        services.dashboard_delete(dashboard=self.dashboard())
        return Response(status=status.HTTP_204_NO_CONTENT)


class DashboardShareApi(DashboardAPIView):
    @extend_schema(request=None, responses={200: ShareSchema, **api_errors()})
    def post(self, request, user, dashboard):
        """A new read-only link (any earlier one stops working)."""
        secret = services.share_create(dashboard=self.dashboard())
        return Response(ShareSchema({"url": f"{settings.SITE_URL}/shared/{secret}/"}).data)

    @extend_schema(request=None, responses={204: None, **api_errors()})
    def delete(self, request, user, dashboard):
        """Revokes the link: it answers 404 from now on."""
        services.share_revoke(dashboard=self.dashboard())
        return Response(status=status.HTTP_204_NO_CONTENT)
