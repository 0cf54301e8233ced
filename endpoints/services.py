"""Writes on endpoints and connections. Keyword-only arguments, never a request.

The engine's own writes (deliveries, attempts, leases, connection state) live in sender.py; the
configuration writes here save only configuration columns, so an edit never overwrites a state
or lease a worker is changing at the same moment."""
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from endpoints.models import Connection, Endpoint

ENDPOINT_FIELDS = ["name", "description", "enabled", "url", "method", "headers", "body", "timeout", "max_in_flight"]
CONNECTION_FIELDS = ["connector_id", "name", "active", "destination_url", "headers", "blame_period", "description",
                     "send_raw_decoded_format", "max_in_flight"]


def endpoint_create(*, owner: User, endpoint_id: str, **config: Any) -> Endpoint:
    """Creates an endpoint; the caller has checked that the id is free for this owner."""
    endpoint = Endpoint(owner=owner, endpoint_id=endpoint_id, **config)
    endpoint.full_clean()
    endpoint.save()
    return endpoint


def endpoint_update(*, endpoint: Endpoint, **changes: Any) -> Endpoint:
    """Sets the given configuration fields and saves only those (plus `modified`)."""
    for name, value in changes.items():
        if name not in ENDPOINT_FIELDS:
            raise ValueError(f"not an endpoint setting: {name}")
        setattr(endpoint, name, value)
    endpoint.full_clean()
    endpoint.save(update_fields=[*changes, "modified"])
    return endpoint


def endpoint_delete(*, endpoint: Endpoint) -> None:
    """Deletes the endpoint with its deliveries and their log; devices calling it stop calling."""
    endpoint.delete()


def connection_create(*, owner: User, **config: Any) -> Connection:
    """Creates a connection; `active: false` creates it DEACTIVATED."""
    connection = Connection(owner=owner, **config)
    connection.state = Connection.OPENED if connection.active else Connection.DEACTIVATED
    connection.full_clean()
    connection.save()
    return connection


def connection_replace(*, connection: Connection, **config: Any) -> Connection:
    """Replaces the whole configuration (ThingPark PUT): fields not given get their defaults.
    Deactivating sets DEACTIVATED (nothing is queued for it from then on; pending deliveries wait);
    reactivating sets OPENED, restarts `startupTime` and lifts any blame."""
    defaults = {"connector_id": "actility-http-iot", "active": True, "headers": {}, "blame_period": 30,
                "description": "", "send_raw_decoded_format": False, "max_in_flight": None}
    values = {**defaults, **config}
    for name in CONNECTION_FIELDS:
        setattr(connection, name, values[name])
    fields = [*CONNECTION_FIELDS, "modified"]
    now = timezone.now()
    if not connection.active:
        connection.state = Connection.DEACTIVATED
        fields.append("state")
    elif connection.state == Connection.DEACTIVATED:
        connection.state, connection.startup_time, connection.blamed_until = Connection.OPENED, now, None
        connection.blamed_at, connection.blame_count = None, 0
        fields += ["state", "startup_time", "blamed_until", "blamed_at", "blame_count"]
    connection.full_clean()
    connection.save(update_fields=fields)
    if "state" in fields and connection.active:
        from endpoints.delivery import deliveries_wake

        # Deliveries that waited while it was deactivated go out now, not at the next redrive.
        transaction.on_commit(deliveries_wake)
    return connection


def connection_delete(*, connection: Connection) -> None:
    """Deletes the connection with its deliveries; its downlink URL stops working at once."""
    connection.delete()
