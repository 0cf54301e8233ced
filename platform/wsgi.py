import os

from django.core.wsgi import get_wsgi_application

from platform.deadline import BodyDeadline
from platform.handlers import DeviceHandler, Router

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")
web = get_wsgi_application()  # sets Django up, so it comes before DeviceHandler()
application = BodyDeadline(Router(web, DeviceHandler()))

# gunicorn runs no system checks: refuse to serve with a per-process cache in production.
from platform.checks import refuse_unsafe_start

refuse_unsafe_start()
