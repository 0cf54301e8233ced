"""API authentication and the ownership rule: every object is reached through its owner."""
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from platform.models import AccessToken

T = TypeVar("T")


def bearer_token(request: HttpRequest | Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class AccessTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, AccessToken] | None:
        token = bearer_token(request)
        if token is None:
            return None
        row = AccessToken.find(token)
        if row is None or not row.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid access token: create one under Access tokens.")
        # One write per minute at most: last_used is for people, not for accounting.
        now = timezone.now()
        if row.last_used is None or (now - row.last_used).total_seconds() > 60:
            AccessToken.objects.filter(pk=row.pk).update(last_used=now)
        return row.user, row

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def found_or_404(found: T | None, what: str, key: object = None) -> T:
    """`found`, or a 404 saying there is no such `what` (naming the `key` asked for, if given): the
    one answer for an object that does not exist and for another user's (views and API alike; DRF
    answers Http404 as its own 404). Each app's selectors wrap it as `<model>_for_owner_or_404`."""
    if found is None:
        raise Http404(f"No such {what} '{key}'." if key is not None else f"No such {what}.")
    return found


def owner_or_404(request: HttpRequest | Request, username: str) -> Any:
    """The user named in the URL, if it is the one asking; anyone else gets a 404, never a 403,
    so the API does not reveal which users exist."""
    user = request.user
    if not user or not user.is_authenticated or user.get_username() != username:
        raise Http404("No such user.")
    return user


User = get_user_model()
