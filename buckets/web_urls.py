from django.urls import path

import platform.converters  # noqa: F401  (registers the `id` converter)
from buckets import views

urlpatterns = [
    path("buckets/", views.bucket_list, name="bucket_list"),
    path("buckets/+new/", views.bucket_create, name="bucket_create"),
    path("buckets/<id:bucket_id>/", views.bucket_detail, name="bucket_detail"),
    path("buckets/<id:bucket_id>/edit/", views.bucket_edit, name="bucket_edit"),
    path("buckets/<id:bucket_id>/clear/", views.bucket_clear, name="bucket_clear"),
    path("buckets/<id:bucket_id>/delete/", views.bucket_delete, name="bucket_delete"),
]
