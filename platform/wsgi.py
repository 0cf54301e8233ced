import logging
import os

from django.core.wsgi import get_wsgi_application

from platform.deadline import BodyDeadline
from platform.handlers import DeviceHandler, Router
from platform.logfilters import RedactSecrets
from platform.server_environ import ServerEnvironOut

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")
web = get_wsgi_application()  # sets Django up, so it comes before DeviceHandler()
routed = Router(web, DeviceHandler())  # also served bare by tests/perf/bench_servers.py, to price BodyDeadline
application = ServerEnvironOut(BodyDeadline(routed))

# The web server's access log has each request line: mask the secrets a URL can carry.
logging.getLogger("granian.access").addFilter(RedactSecrets())

# The web server runs no system checks: refuse to serve with a per-process cache in production.
from platform.checks import refuse_unsafe_start

refuse_unsafe_start()
