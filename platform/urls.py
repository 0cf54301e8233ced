from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from platform import errors, schema, views  # noqa: F401  (schema registers the token scheme)
from platform.login import AdminLoginForm, LoginView, PasswordResetView

# The admin's sign-in is throttled like the login page's (platform/login.py).
admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin, the API docs).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # "Forgot your password?": Django's flow, our templates (templates/registration/), the link SITE_URL's.
    path("password-reset/", PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("password-reset/complete/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # The public contract (docs/devices.md, docs/api.md): device callback and REST API, per app.
    path("", include("devices.urls")),
    path("", include("devices.cloud_urls")),
    path("", include("buckets.urls")),
    path("", include("endpoints.urls")),
    path("", include("alarms.urls")),
    path("", include("dashboards.urls")),
    # Any other path under the API's prefixes is the API's JSON 404, DEBUG or not.
    re_path(r"^(?:v1|v3|iot-flow)/", errors.api_route_not_found),
    # The web UI pages, per app.
    path("", include("platform.web_urls")),
    path("", include("devices.web_urls")),
    path("", include("buckets.web_urls")),
    path("", include("endpoints.web_urls")),
    path("", include("alarms.web_urls")),
    path("", include("dashboards.web_urls")),
]

# JSON answers for API routes when the error happens outside a view (platform/errors.py).
handler400 = "platform.errors.bad_request"
handler403 = "platform.errors.permission_denied"
handler404 = "platform.errors.page_not_found"
handler500 = "platform.errors.server_error"
