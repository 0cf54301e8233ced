import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from platform.validators import id_validator, validate_headers, validate_url


class Endpoint(models.Model):
    """A Thinger-style HTTP request endpoint: URL, headers and body are `{{...}}` templates."""

    METHODS = [(m, m) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")]

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="endpoints")
    endpoint_id = models.CharField("endpoint", max_length=64, validators=[id_validator])
    name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=20, default="http_request")
    enabled = models.BooleanField(default=True)
    url = models.TextField()
    method = models.CharField(max_length=10, choices=METHODS, default="POST")
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(null=True, blank=True, help_text="template; empty = the message JSON")
    timeout = models.PositiveIntegerField(default=10, help_text="seconds")
    # Held by the one worker sending this endpoint's deliveries, so they go out in order; it
    # expires by itself if that worker dies.
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "endpoint_id"], name="endpoint_unique_per_owner")]
        ordering = ["endpoint_id"]

    def __str__(self):
        return self.endpoint_id

    def clean(self):
        # The same rules as the forms and the API (the admin saves through here).
        _clean_url_and_headers(self, "url")


def downlink_secret_new():
    return secrets.token_urlsafe(32)


class Connection(models.Model):
    """A ThingPark-style HTTP connection, labelled "Application" in the UI."""

    OPENED, UNREACHABLE, DEACTIVATED = "OPENED", "UNREACHABLE", "DEACTIVATED"
    STATES = [(s, s) for s in (OPENED, UNREACHABLE, DEACTIVATED)]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connections")
    connector_id = models.CharField(max_length=64, default="actility-http-iot")
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    destination_url = models.URLField(max_length=2000)
    headers = models.JSONField(default=dict, blank=True)
    blame_period = models.PositiveIntegerField(default=30, help_text="seconds")
    description = models.TextField(blank=True)
    send_raw_decoded_format = models.BooleanField(default=False)
    state = models.CharField(max_length=12, choices=STATES, default=OPENED)
    startup_time = models.DateTimeField(auto_now_add=True)
    # Deliveries to this connection wait until then after a failure (ThingPark's blame period).
    blamed_until = models.DateTimeField(null=True, blank=True)
    # The downlink URL is the credential a cloud application uses to send downlinks.
    downlink_secret = models.CharField(max_length=64, unique=True, default=downlink_secret_new, editable=False)
    # Held by the one worker sending this connection's deliveries (see Endpoint.lease_until).
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return self.name

    def clean(self):
        _clean_url_and_headers(self, "destination_url")


def _clean_url_and_headers(target, url_field):
    errors = {}
    for field, check in ((url_field, validate_url), ("headers", validate_headers)):
        try:
            check(getattr(target, field))
        except ValidationError as exc:
            errors[field] = exc.messages
    if errors:
        raise ValidationError(errors)


class Delivery(models.Model):
    """One message to one target (an endpoint or a connection), with its attempts. Rows, not
    Celery countdowns, carry the retry schedule, so nothing is lost with a worker or the broker."""

    PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
    STATES = [(s, s) for s in (PENDING, DELIVERED, FAILED)]

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries")
    connection = models.ForeignKey(Connection, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="deliveries")
    message_id = models.BigIntegerField(null=True, blank=True, help_text="the device message; null for a manual call")
    device_id = models.CharField(max_length=64, blank=True)
    device_name = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(null=True)
    ts = models.BigIntegerField(help_text="message time, epoch ms")
    state = models.CharField(max_length=10, choices=STATES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(state="pending"), name="delivery_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(endpoint__isnull=True) ^ Q(connection__isnull=True),
                                   name="delivery_one_target"),
            models.UniqueConstraint(fields=["endpoint", "message_id"], name="delivery_once_per_endpoint"),
            models.UniqueConstraint(fields=["connection", "message_id"], name="delivery_once_per_connection"),
        ]

    def __str__(self):
        return f"delivery {self.pk} ({self.state})"


class Attempt(models.Model):
    """One try at sending a delivery, readable by a person: what came back, how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(auto_now_add=True)
    url = models.TextField(blank=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    ms = models.PositiveIntegerField(default=0)
    response_body = models.TextField(blank=True, help_text="truncated")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
