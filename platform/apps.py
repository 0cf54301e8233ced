from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "platform"
    label = "platform"
    verbose_name = "Platform"

    def ready(self):
        from django.conf import settings
        from django.core import checks
        from django.db.models.signals import post_save

        # The web side needs the Celery app configured before any task is sent (see __init__.py
        # for why it is not imported there).
        from platform import celery  # noqa: F401
        from platform.checks import shared_cache_check
        from platform.login import password_set

        checks.register(shared_cache_check)
        post_save.connect(password_set, sender=settings.AUTH_USER_MODEL, dispatch_uid="platform.login.password_set")
