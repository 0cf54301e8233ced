from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "platform"
    label = "platform"
    verbose_name = "Platform"

    def ready(self):
        from django.conf import settings
        from django.core import checks
        from django.db.models.signals import post_save, pre_save

        # The web side needs the Celery app configured before any task is sent (see __init__.py
        # for why it is not imported there).
        from platform import celery  # noqa: F401
        from platform.account_mail import email_saved, email_saving
        from platform.checks import shared_cache_check
        from platform.login import password_set

        checks.register(shared_cache_check)
        # Changes of password and e-mail address are told, whoever makes them (platform/account_mail.py).
        user = settings.AUTH_USER_MODEL
        post_save.connect(password_set, sender=user, dispatch_uid="platform.login.password_set")
        pre_save.connect(email_saving, sender=user, dispatch_uid="platform.account_mail.email_saving")
        post_save.connect(email_saved, sender=user, dispatch_uid="platform.account_mail.email_saved")
