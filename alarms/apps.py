from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    name = "alarms"
    verbose_name = "Alarms"

    def ready(self):
        # Ingest and the timeout sweep announce what they committed; alarms evaluate it there
        # (DESIGN.md: devices does not import alarms). Rule changes invalidate the watch cache.
        from alarms import receivers

        receivers.connect()
