import secrets
import uuid
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from platform.validators import id_validator, validate_headers, validate_url

# An endpoint's timeout, in seconds: its default and bounds (the model, the API, the form, the admin).
TIMEOUT_DEFAULT, TIMEOUT_MIN, TIMEOUT_MAX = 10, 1, 60


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
    timeout = models.PositiveIntegerField(default=TIMEOUT_DEFAULT, help_text="seconds")
    max_in_flight = models.PositiveIntegerField(
        null=True, blank=True, help_text="requests in flight at once (different devices); empty = the default")
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


# A connection's blame period, in seconds: ThingPark's default, and the most the API and the form take.
DEFAULT_BLAME_PERIOD, MAX_BLAME_PERIOD = 30, 7 * 24 * 3600
MAX_IN_FLIGHT = 256  # requests to one target at once, at most (the APIs, the forms and the admin)


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
    blame_period = models.PositiveIntegerField(default=DEFAULT_BLAME_PERIOD, help_text="seconds")
    description = models.TextField(blank=True)
    send_raw_decoded_format = models.BooleanField(default=False)
    state = models.CharField(max_length=12, choices=STATES, default=OPENED)
    startup_time = models.DateTimeField(auto_now_add=True)
    # Deliveries to this connection wait until then after a failure (ThingPark's blame period);
    # `blame_count` failures in a row lengthen the pause (endpoints/targets/connection.py).
    blamed_until = models.DateTimeField(null=True, blank=True)
    # When the blame began: only a success of a request sent after it clears it (a request already
    # in flight when the receiver started failing proves nothing about the receiver now).
    blamed_at = models.DateTimeField(null=True, blank=True, editable=False)
    blame_count = models.PositiveIntegerField(default=0, editable=False)
    max_in_flight = models.PositiveIntegerField(
        null=True, blank=True, help_text="requests in flight at once (different devices); empty = the default")
    # The downlink URL is the credential a cloud application uses to send downlinks.
    downlink_secret = models.CharField(max_length=64, unique=True, default=downlink_secret_new, editable=False)
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
    for field, check in ((url_field, validate_url), ("headers", partial(validate_headers, count=False))):
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
    message_id = models.BigIntegerField(null=True, blank=True,
                                        help_text="the device message; null for a test call or an alarm notification")
    # A test call ("Send test", the API's /call): shown in the log, left out of the health figures
    # (a person trying a receiver that is down is not a failing delivery). The database default
    # makes a row inserted by code from before the column (a web process during an upgrade) a delivery.
    test = models.BooleanField(default=False, db_default=False,
                               help_text="sent with Send test or the API's /call; not counted in the statistics")
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
    # A lane is one device's messages to one target (a hash of both): they are sent one at a time,
    # in id order; lanes are sent concurrently. `lane % DELIVERY_PARTITIONS` is the partition whose
    # holder (one sender, endpoints/partitions.py) sends it.
    lane = models.BigIntegerField(default=0)
    # Set while a sender holds the delivery in its queue or in flight.
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(state="pending"), name="delivery_due"),
            # The sender's claim walks pending deliveries in id order and checks each lane's head.
            models.Index(fields=["id"], condition=Q(state="pending"), name="delivery_pending"),
            models.Index(fields=["lane", "id"], condition=Q(state="pending"), name="delivery_lane"),
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

    def __str__(self):
        return f"{f'HTTP {self.status_code}' if self.status_code else 'no answer'} at {self.at:%Y-%m-%d %H:%M:%S}"


class DeliverySender(models.Model):
    """A running sender (endpoints/sender/), seen within the last seconds: how many there are
    decides each one's share of the partitions."""

    name = models.CharField(max_length=200, primary_key=True)
    seen = models.DateTimeField()


class DeliveryPartition(models.Model):
    """One slice of the lanes, held by one sender at a time under a lease it renews; a sender that
    dies lets its lease run out and another takes the partition over."""

    number = models.PositiveIntegerField(primary_key=True)
    holder = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
