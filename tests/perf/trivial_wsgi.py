"""The 'limit' of the benchmark: a trivial Django view behind the same settings, middleware and
web server setup as the platform, so the callback's figures can be read as a fraction of it."""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")

import django
from django.conf import settings

django.setup()
settings.ROOT_URLCONF = "tests.perf.trivial_wsgi"

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def ping(request, **kwargs):
    return JsonResponse({})


urlpatterns = [path("v3/users/<str:user>/devices/<str:device>/callback/data", ping)]

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
