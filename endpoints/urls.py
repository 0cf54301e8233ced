from django.urls import path

from endpoints.api import thinger, thingpark

E = "v1/users/<str:user>/endpoints/<str:endpoint>"

urlpatterns = [
    # Thinger-style endpoints (docs/devices.md)
    path("v1/users/<str:user>/endpoints", thinger.EndpointList.as_view(), name="api-endpoints"),
    path(E, thinger.EndpointDetail.as_view(), name="api-endpoint"),
    path(f"{E}/call", thinger.EndpointCall.as_view(), name="api-endpoint-call"),
    path(f"{E}/calls", thinger.EndpointCalls.as_view(), name="api-endpoint-calls"),
    path(f"{E}/deliveries", thinger.EndpointDeliveries.as_view(), name="api-endpoint-deliveries"),
    path(f"{E}/deliveries/<int:delivery>/retry", thinger.EndpointDeliveryRetry.as_view(),
         name="api-endpoint-delivery-retry"),
    # ThingPark-style connections, "Applications" in the UI (docs/devices.md)
    path("iot-flow/v1/connections", thingpark.ConnectionList.as_view(), name="api-connections"),
    path("iot-flow/v1/connections/<str:connection>", thingpark.ConnectionDetail.as_view(), name="api-connection"),
    path("iot-flow/v1/connections/<str:connection>/deliveries", thingpark.ConnectionDeliveries.as_view(),
         name="api-connection-deliveries"),
    path("iot-flow/v1/connections/<str:connection>/deliveries/<int:delivery>/retry",
         thingpark.ConnectionDeliveryRetry.as_view(), name="api-connection-delivery-retry"),
]
