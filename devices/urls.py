from django.urls import path

from devices import callback

urlpatterns = [
    path("v3/users/<str:user>/devices/<str:device>/callback/data", callback.callback, name="callback-data"),
]
