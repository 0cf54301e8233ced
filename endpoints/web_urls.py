from django.urls import path

import platform.converters  # noqa: F401  (registers the `id` converter)
from endpoints import views

urlpatterns = [
    path("endpoints/", views.endpoint_list, name="endpoint_list"),
    path("endpoints/+new/", views.endpoint_create, name="endpoint_create"),
    path("endpoints/<id:endpoint_id>/", views.endpoint_detail, name="endpoint_detail"),
    path("endpoints/<id:endpoint_id>/edit/", views.endpoint_edit, name="endpoint_edit"),
    path("endpoints/<id:endpoint_id>/test/", views.endpoint_test, name="endpoint_test"),
    path("endpoints/<id:endpoint_id>/retry/", views.endpoint_retry_now, name="endpoint_retry_now"),
    path("endpoints/<id:endpoint_id>/deliveries/<int:delivery>/retry/", views.endpoint_delivery_retry,
         name="endpoint_delivery_retry"),
    path("endpoints/<id:endpoint_id>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path("applications/", views.application_list, name="application_list"),
    path("applications/new/", views.application_create, name="application_create"),
    path("applications/new/http/", views.application_create_http, name="application_create_http"),
    path("applications/<uuid:pk>/", views.application_detail, name="application_detail"),
    path("applications/<uuid:pk>/settings/<str:field>/", views.application_field, name="application_field"),
    path("applications/<uuid:pk>/active/", views.application_active, name="application_active"),
    path("applications/<uuid:pk>/retry/", views.application_retry_now, name="application_retry_now"),
    path("applications/<uuid:pk>/deliveries/<int:delivery>/retry/", views.application_delivery_retry,
         name="application_delivery_retry"),
    path("applications/<uuid:pk>/delete/", views.application_delete, name="application_delete"),
]
