import os

from django.core.wsgi import get_wsgi_application

from platform.deadline import BodyDeadline

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")
application = BodyDeadline(get_wsgi_application())

# gunicorn runs no system checks: refuse to serve with a per-process cache in production.
from platform.checks import refuse_unsafe_start

refuse_unsafe_start()
