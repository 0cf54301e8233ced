"""Reads on the platform's own models; always through the owner."""
from __future__ import annotations

from typing import TYPE_CHECKING

from platform.auth import found_or_404
from platform.models import AccessToken

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def access_token_for_owner_or_404(owner: User, pk: int) -> AccessToken:
    """The owner's access token, or Http404 (another user's does not exist for this owner)."""
    return found_or_404(AccessToken.objects.filter(user=owner, pk=pk).first(), "access token")
