"""System checks for operators' mistakes that would otherwise fail silently in production.

The per-device rate limit, the sign-in and password reset throttles and the callback's token
cache live in the cache. With the default per-process cache (locmem) and several web processes,
each process counts on its own: the rate limit lets N times as much through and a failed-login
count resets from one process to the next. So with DEBUG off a shared cache is required, unless the operator says that exactly
one process serves (SINGLE_PROCESS=true). `manage.py check` / `migrate` report it, and the WSGI
application refuses to start (platform/wsgi.py), since the web server runs no system checks."""
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def cache_is_shared() -> bool:
    return settings.CACHE_SHARED


def shared_cache_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.DEBUG or settings.SINGLE_PROCESS or cache_is_shared():
        return []
    return [checks.Error(
        "DEBUG is off and the cache is per process (CACHE_URL is not a redis:// URL): with more than "
        "one web process the per-device rate limit, the login throttle and the token cache do not hold.",
        hint="Set CACHE_URL=redis://host:6379/1 (a Redis all web processes share), or SINGLE_PROCESS=true "
             "if exactly one process serves the web (e.g. python -m platform.webserver --workers 1).",
        id="platform.E001")]


def refuse_unsafe_start() -> None:
    """Raises ImproperlyConfigured with the check's message: for servers that run no checks."""
    errors = shared_cache_check()
    if errors:
        raise ImproperlyConfigured(f"{errors[0].msg} {errors[0].hint}")
