"""Subscriptions, connected from AlarmsConfig.ready(): what devices announce after commit, and
rule changes that make the watch map stale. A receiver never lets an error reach ingest or the
sweep (devices.signals logs it as well, as a second net)."""
import logging
from typing import Any

logger = logging.getLogger(__name__)


def on_messages_stored(sender: Any, messages: Any, **kwargs: Any) -> None:
    from alarms.evaluation import messages_evaluate

    try:
        messages_evaluate(messages)
    except Exception:
        logger.exception("alarms: evaluating an ingest batch failed; its data is stored")


def on_status_changed(sender: Any, devices: Any, **kwargs: Any) -> None:
    from alarms.evaluation import status_evaluate

    try:
        status_evaluate(devices)
    except Exception:
        logger.exception("alarms: evaluating status changes failed; the beat sweep tries again")


def on_rule_changed(sender: Any, **kwargs: Any) -> None:
    from alarms.watch import watch_invalidate

    watch_invalidate()


def connect() -> None:
    from django.db.models.signals import post_delete, post_save

    from devices.signals import messages_stored, status_changed

    messages_stored.connect(on_messages_stored, dispatch_uid="alarms.messages_stored")
    status_changed.connect(on_status_changed, dispatch_uid="alarms.status_changed")
    # Rules deleted with their bucket or owner (cascades) pass here too.
    post_save.connect(on_rule_changed, sender="alarms.Rule", dispatch_uid="alarms.rule_saved")
    post_delete.connect(on_rule_changed, sender="alarms.Rule", dispatch_uid="alarms.rule_deleted")
