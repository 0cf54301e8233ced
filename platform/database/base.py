"""PostgreSQL, with Django's connection health check skipped for a connection that has just
served a request without error.

With CONN_HEALTH_CHECKS Django asks PostgreSQL `SELECT 1` before the first query of every request:
one more round trip and statement per device callback, whose own work is one statement. A
connection that finished a request cleanly less than DATABASE_HEALTH_CHECK_IDLE seconds ago is used
without that check (PgBouncer's server_check_delay does the same). If the server went away in
that second, the request fails once with a database error (the callback answers 503 with
Retry-After), Django closes the connection when the request ends, and the next request connects
afresh. Measured in the README's "Intake levers"."""
import time

from django.conf import settings
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.served_cleanly_at: float | None = None

    def close_if_health_check_failed(self) -> None:
        recent = self.served_cleanly_at is not None and (
            time.monotonic() - self.served_cleanly_at < settings.DATABASE_HEALTH_CHECK_IDLE)
        if self.connection is not None and recent and not self.errors_occurred:
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def close_if_unusable_or_obsolete(self) -> None:
        # Called when a request (or a Celery task) starts and when it ends. health_check_done is
        # true only if this request used the connection: after a clean use, stamp the time.
        errored, used = self.errors_occurred, self.health_check_done
        super().close_if_unusable_or_obsolete()
        if self.connection is None or errored:
            self.served_cleanly_at = None
        elif used:
            self.served_cleanly_at = time.monotonic()
