from django.urls import path

from devices import cloud_downlinks

urlpatterns = [
    # ThingPark's downlink URL for cloud applications (docs/devices.md); the secret is the credential.
    path("iot-flow/downlinkMessages/<str:secret>", cloud_downlinks.downlink_messages, name="cloud-downlink"),
]
