from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "devices"

    def ready(self) -> None:
        # The callback's cached token lookup is invalidated by signals on Device and the user
        # model; every process that can write a device (web, workers, shell) loads this app.
        from devices import cache

        cache.connect()
