"""The Celery app: `celery -A platform worker|beat` finds it here by name.

Three queues so a slow destination never delays storage. The database is the system of record;
messages on the broker are only wake-ups, so a lost one costs latency (the beat redrive catches
up), never data.
"""
import os
from typing import Any

from celery import Celery, signals
from kombu import Queue

from platform import watchdog

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")

app = Celery("platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_soft_time_limit=60,
    task_time_limit=90,
    broker_connection_retry_on_startup=True,
    task_queues=[Queue("ingest"), Queue("deliveries"), Queue("maintenance")],
    task_default_queue="maintenance",
    task_routes={
        "devices.tasks.process_messages_task": {"queue": "ingest"},
        "endpoints.tasks.*": {"queue": "deliveries"},
        "endpoints.tasks.delivery_log_retention_task": {"queue": "maintenance"},
    },
    beat_schedule={
        "sweep-connection-timeouts": {"task": "devices.tasks.sweep_timeouts_task", "schedule": 30.0,
                                      "options": {"queue": "maintenance", "expires": 30}},
        "redrive-messages": {"task": "devices.tasks.redrive_messages_task", "schedule": 30.0,
                             "options": {"queue": "maintenance", "expires": 30}},
        "redrive-deliveries": {"task": "endpoints.tasks.redrive_deliveries_task", "schedule": 10.0,
                               "options": {"queue": "deliveries", "expires": 10}},
        "bucket-retention": {"task": "buckets.tasks.retention_task", "schedule": 3600.0,
                             "options": {"queue": "maintenance", "expires": 3600}},
        "sweep-alarms": {"task": "alarms.tasks.sweep_alarms_task", "schedule": 30.0,
                         "options": {"queue": "maintenance", "expires": 30}},
        "send-alarm-emails": {"task": "alarms.tasks.send_emails_task", "schedule": 15.0,
                              "options": {"queue": "maintenance", "expires": 15}},
        "send-account-mails": {"task": "platform.tasks.send_account_mails_task", "schedule": 15.0,
                               "options": {"queue": "maintenance", "expires": 15}},
        "delivery-log-retention": {"task": "endpoints.tasks.delivery_log_retention_task", "schedule": 3600.0,
                                   "options": {"queue": "maintenance", "expires": 3600}},
    },
)
# Publishing must not hang a request when the broker is down: the message is already committed
# and the beat redrive will find it.
# No retry: a second attempt doubled the wait when Redis hangs (tests/e2e/test_faults_ingest.py), and
# the redrive already covers a lost wake-up.
app.conf.task_publish_retry_policy = {"max_retries": 0}
# Database connections are reused across tasks, as the web side reuses them (CONN_MAX_AGE): Celery's
# Django fixup would otherwise close them around every task, one new PostgreSQL backend per task.
# Django's own rule closes a connection that broke or outlived CONN_MAX_AGE before and after each.
app.conf["CELERY_DB_REUSE_MAX"] = 10**9


@signals.task_prerun.connect
@signals.task_postrun.connect
def _database_connections_checked(**kwargs: Any) -> None:
    from django.db import close_old_connections

    close_old_connections()


# A worker that stops taking tasks shuts down for its supervisor to restart (platform/watchdog.py).
watchdog.connect()

app.autodiscover_tasks()
