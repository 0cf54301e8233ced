from django.urls import path

import platform.converters  # noqa: F401  (registers the `id` converter)
from devices import views

urlpatterns = [
    path("devices/", views.device_list, name="device_list"),
    path("devices/+new/", views.device_create, name="device_create"),
    path("devices/<id:device_id>/", views.device_detail, name="device_detail"),
    path("devices/<id:device_id>/settings/", views.device_settings, name="device_settings"),
    path("devices/<id:device_id>/token/", views.device_token, name="device_token"),
    path("devices/<id:device_id>/properties/", views.device_property, name="device_property"),
    path("devices/<id:device_id>/properties/<id:name>/delete/", views.device_property_delete,
         name="device_property_delete"),
    path("devices/<id:device_id>/downlinks/", views.device_downlink, name="device_downlink"),
    path("devices/<id:device_id>/applications/", views.device_application_add, name="device_application_add"),
    path("devices/<id:device_id>/applications/<uuid:connection_id>/remove/", views.device_application_remove,
         name="device_application_remove"),
    path("devices/<id:device_id>/delete/", views.device_delete, name="device_delete"),
]
