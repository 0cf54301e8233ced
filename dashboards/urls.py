from django.urls import path

from dashboards import api

DASHBOARD = "v1/users/<str:user>/dashboards/<str:dashboard>"

urlpatterns = [
    path("v1/users/<str:user>/dashboards", api.DashboardListApi.as_view(), name="api-dashboards"),
    path(DASHBOARD, api.DashboardApi.as_view(), name="api-dashboard"),
    path(f"{DASHBOARD}/share", api.DashboardShareApi.as_view(), name="api-dashboard-share"),
]
