from django.urls import path

from devices import api, callback

DEVICE_V1 = "v1/users/<str:user>/devices/<str:device>"
DEVICE_V3 = "v3/users/<str:user>/devices/<str:device>"

urlpatterns = [
    # The device callback (docs/devices.md). `.../callback` is also the callback-settings URL:
    # callback.callback_or_settings tells a device from a user by the credential presented. Under
    # the web server, device callbacks reach the view through platform/handlers.py instead.
    path(f"{DEVICE_V3}/callback/data", callback.callback, name="callback-data"),
    path(f"{DEVICE_V3}/callback", callback.callback_or_settings, name="callback"),
    path(f"{DEVICE_V3}/callback/token", api.CallbackTokenView.as_view(), name="api-callback-token"),
    # The user API (docs/devices.md, docs/api.md).
    path("v1/users/<str:user>/devices", api.DeviceListView.as_view(), name="api-devices"),
    path(DEVICE_V1, api.DeviceDetailView.as_view(), name="api-device"),
    path(f"{DEVICE_V1}/stats", api.DeviceStatsView.as_view(), name="api-device-stats"),
    path(f"{DEVICE_V3}/properties", api.PropertyListView.as_view(), name="api-properties"),
    path(f"{DEVICE_V3}/properties/<str:property>", api.PropertyDetailView.as_view(), name="api-property"),
    path(f"{DEVICE_V3}/downlinks", api.DownlinkListView.as_view(), name="api-downlinks"),
]
