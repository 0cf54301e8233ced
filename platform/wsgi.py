import os

from django.core.wsgi import get_wsgi_application

from platform.deadline import BodyDeadline

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")
application = BodyDeadline(get_wsgi_application())
