from django.urls import path

from buckets import api

urlpatterns = [
    path("v1/users/<str:user>/buckets", api.BucketListApi.as_view(), name="api-buckets"),
    path("v1/users/<str:user>/buckets/<str:bucket>", api.BucketApi.as_view(), name="api-bucket"),
    path("v1/users/<str:user>/buckets/<str:bucket>/data", api.BucketDataApi.as_view(), name="api-bucket-data"),
    path("v1/users/<str:user>/buckets/<str:bucket>/export", api.BucketExportApi.as_view(), name="api-bucket-export"),
]
