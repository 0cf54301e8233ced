import logging
import os

from django.core.wsgi import get_wsgi_application

from platform.deadline import BodyDeadline
from platform.handlers import DeviceHandler, Router
from platform.logfilters import AccessLogQuery, RedactSecrets
from platform.server_environ import ServerEnvironOut

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")
web = get_wsgi_application()  # sets Django up, so it comes before DeviceHandler()
routed = Router(web, DeviceHandler())  # also served bare by tests/perf/bench_servers.py, to price BodyDeadline
application = ServerEnvironOut(BodyDeadline(routed))

# The web server's access log has each request line: with its query string, and the secrets a URL
# can carry masked (filters run in the order they are added).
access_log = logging.getLogger("granian.access")
access_log.addFilter(AccessLogQuery())
access_log.addFilter(RedactSecrets())

# The web server runs no system checks: refuse to serve with a per-process cache in production.
from platform.checks import refuse_unsafe_start

refuse_unsafe_start()
