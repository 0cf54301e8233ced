"""Reads on endpoints, connections and the delivery log; always through the owner."""
from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet

from endpoints.models import Attempt, Connection, Delivery, Endpoint
from platform.auth import found_or_404


def endpoints_for_owner(owner: User) -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(owner=owner).order_by("endpoint_id")


def endpoint_for_owner(owner: User, endpoint_id: str) -> Endpoint | None:
    return Endpoint.objects.filter(owner=owner, endpoint_id=endpoint_id).first()


def endpoint_for_owner_or_404(owner: User, endpoint_id: str) -> Endpoint:
    """The owner's endpoint, or Http404: the one look-up of the endpoint pages and the API."""
    return found_or_404(endpoint_for_owner(owner, endpoint_id), "endpoint")


def connections_for_owner(owner: User) -> QuerySet[Connection]:
    return Connection.objects.filter(owner=owner).order_by("-created", "pk")


def connection_for_owner(owner: User, connection_id: Any) -> Connection | None:
    """The owner's connection with that id, or None (also for a malformed id)."""
    try:
        pk = uuid.UUID(str(connection_id))
    except ValueError:
        return None
    return Connection.objects.filter(owner=owner, pk=pk).first()


def connection_for_owner_or_404(owner: User, connection_id: str) -> Connection:
    """The owner's connection, or Http404 (also for a malformed id): the one look-up of the
    application pages, the device pages that attach them and the ThingPark API."""
    return found_or_404(connection_for_owner(owner, connection_id), "connection")


def connection_for_downlink_secret(secret: str | None) -> Connection | None:
    """The connection whose downlink URL carries this secret, or None (also when its owner is
    deactivated: their URLs answer like unknown ones). The URL is the credential."""
    if not secret or len(secret) > 64 or "\x00" in secret:
        return None
    return (Connection.objects.filter(downlink_secret=secret, owner__is_active=True)
            .select_related("owner").first())


def attempts_for_target(*, endpoint: Endpoint | None = None,
                        connection: Connection | None = None) -> QuerySet[Attempt]:
    """The target's attempt log, newest first, each with its delivery."""
    target: dict[str, Any] = ({"delivery__endpoint": endpoint} if endpoint is not None
                              else {"delivery__connection": connection})
    return Attempt.objects.filter(**target).select_related("delivery").order_by("-id")


def deliveries_for_target(*, endpoint: Endpoint | None = None, connection: Connection | None = None,
                          state: str | None = None) -> QuerySet[Delivery]:
    target: dict[str, Any] = {"endpoint": endpoint} if endpoint is not None else {"connection": connection}
    rows = Delivery.objects.filter(**target).order_by("-id")
    return rows.filter(state=state) if state else rows


def delivery_for_target_or_404(*, endpoint: Endpoint | None = None, connection: Connection | None = None,
                               pk: int) -> Delivery:
    """A delivery of that target (reached through its owner), or Http404 for any other id."""
    return found_or_404(deliveries_for_target(endpoint=endpoint, connection=connection).filter(pk=pk).first(),
                        "delivery")
