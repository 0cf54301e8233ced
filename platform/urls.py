from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from platform import schema, views  # noqa: F401  (schema registers the token scheme)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # The public contract (API.md): device callback and REST API, per app.
    path("", include("devices.urls")),
    path("", include("devices.cloud_urls")),
    path("", include("buckets.urls")),
    path("", include("endpoints.urls")),
    # The web UI pages, per app.
    path("", include("platform.web_urls")),
    path("", include("devices.web_urls")),
    path("", include("buckets.web_urls")),
    path("", include("endpoints.web_urls")),
]

# JSON answers for API routes when the error happens outside a view (platform/errors.py).
handler400 = "platform.errors.bad_request"
handler403 = "platform.errors.permission_denied"
handler404 = "platform.errors.page_not_found"
handler500 = "platform.errors.server_error"
