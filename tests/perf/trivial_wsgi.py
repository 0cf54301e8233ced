"""The 'limit' of the benchmark: a trivial Django view behind the same settings, middleware and
gunicorn setup as the platform, so the callback's figures can be read as a fraction of it."""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")

import django  # noqa: E402
from django.conf import settings  # noqa: E402

django.setup()
settings.ROOT_URLCONF = "tests.perf.trivial_wsgi"

from django.http import JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402


@csrf_exempt
def ping(request, **kwargs):
    return JsonResponse({})


urlpatterns = [path("v3/users/<str:user>/devices/<str:device>/callback/data", ping)]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
