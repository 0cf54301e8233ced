from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "platform"
    label = "platform"
    verbose_name = "Platform"

    def ready(self):
        from django.core import checks

        # The web side needs the Celery app configured before any task is sent (see __init__.py
        # for why it is not imported there).
        from platform import celery  # noqa: F401
        from platform.checks import shared_cache_check

        checks.register(shared_cache_check)
