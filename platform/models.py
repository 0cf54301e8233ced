import secrets

from django.conf import settings
from django.db import models

from platform.tokens import token_hash, token_matches, token_new


class AccessToken(models.Model):
    """A user's API credential. The token reads `<key>.<secret>`: the key finds the row, the
    secret is checked against its hash in constant time."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100, default="API")
    key = models.CharField(max_length=16, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.name} ({self.key}…)"

    @classmethod
    def issue(cls, *, user, name="API"):
        """Create a token; returns (row, plain token). The plain token is never stored."""
        key = secrets.token_hex(6)
        secret = token_new()
        row = cls.objects.create(user=user, name=name, key=key, token_hash=token_hash(secret))
        return row, f"{key}.{secret}"

    @classmethod
    def find(cls, token: str):
        if "\x00" in token:
            return None
        key, _, secret = token.partition(".")
        row = cls.objects.select_related("user").filter(key=key).first()
        if row is None or not token_matches(secret, row.token_hash):
            return None
        return row


class AccountMail(models.Model):
    """An e-mail about an account, waiting for a worker to send it (platform/account_mail.py):
    a password reset asked for an address, or a notice to a user that their password or e-mail
    address changed. For a reset the web process writes this row whether or not an account has
    the address, so its answer takes the same time either way; the worker looks the accounts up
    and makes the links. No token is ever stored. Rows are deleted once sent or given up."""

    RESET, PASSWORD_CHANGED, EMAIL_CHANGED = "reset", "password_changed", "email_changed"
    KINDS = [(RESET, "password reset"), (PASSWORD_CHANGED, "password changed"), (EMAIL_CHANGED, "e-mail changed")]

    kind = models.CharField(max_length=20, choices=KINDS)
    email = models.EmailField(help_text="reset: the address asked for; a notice: where it goes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             help_text="a notice: the account it is about")
    detail = models.CharField(max_length=254, blank=True, help_text="e-mail changed: the new address")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["next_attempt_at"], name="accountmail_due")]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.email}"
