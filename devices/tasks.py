"""Thin tasks: no arguments, call a service. The database holds the work; these are wake-ups."""
from celery import shared_task

from devices.ingest import messages_process
from devices.services import devices_sweep_timeouts

# Under the soft time limit (platform/celery.py, 60 s): a long backlog continues in a new task.
BUDGET_SECONDS = 45


@shared_task(name="devices.tasks.process_messages_task")
def process_messages_task() -> int:
    return messages_process(budget_seconds=BUDGET_SECONDS)


@shared_task(name="devices.tasks.redrive_messages_task")
def redrive_messages_task() -> int:
    """Processes whatever the inbox still holds, e.g. messages whose wake-up was lost."""
    return messages_process(budget_seconds=BUDGET_SECONDS)


@shared_task(name="devices.tasks.sweep_timeouts_task")
def sweep_timeouts_task() -> int:
    return devices_sweep_timeouts()
