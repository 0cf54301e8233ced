from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    name = "alarms"
    verbose_name = "Alarms"

    def ready(self):
        # Ingest and the timeout sweep announce what they committed; alarms evaluate it there
        # (devices never imports alarms: docs/operations.md). Rule changes invalidate the watch cache.
        from alarms import receivers

        receivers.connect()
