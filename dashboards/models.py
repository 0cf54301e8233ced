from django.conf import settings
from django.db import models

from platform.validators import id_validator


class Dashboard(models.Model):
    """A user's grid of widgets. The widgets are a JSON list on the row (docs/dashboards.md shape,
    validated by dashboards/widgets.py): a dashboard is read and written whole, its widgets have
    no life of their own, and one row read gives the page everything it needs to lay itself out.

    The share link's secret is never stored: only its SHA-256 hash, looked up by that hash (the
    secret is 256 random bits, so a fast hash is right). Revoking clears the hash."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dashboards")
    dashboard_id = models.CharField("dashboard", max_length=64, validators=[id_validator])
    name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    widgets = models.JSONField(default=list, blank=True)
    share_hash = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    shared_at = models.DateTimeField(null=True, blank=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "dashboard_id"], name="dashboard_unique_per_owner")]
        ordering = ["dashboard_id"]

    def __str__(self):
        return self.dashboard_id

    def widget(self, widget_id):
        return next((w for w in self.widgets if w.get("id") == widget_id), None)
