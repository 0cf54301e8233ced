"""Typed readers for environment variables: a bad value stops startup with a message naming it."""
import os
from collections.abc import Iterable
from typing import overload

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


@overload
def env_str(name: str, default: str, *, required: bool = False) -> str: ...
@overload
def env_str(name: str, default: None = None, *, required: bool = False) -> str | None: ...
def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"Set the environment variable {name} (see .env.example).")
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use true or false.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below its minimum of {minimum}.")
    return number


def env_list(name: str, default: Iterable[str] = ()) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_int_list(name: str, default: Iterable[str] = (), *, minimum: int | None = None) -> list[int]:
    """A comma-separated list of whole numbers, e.g. a retry schedule in seconds."""
    try:
        numbers = [int(item) for item in env_list(name, default)]
    except ValueError:
        raise ImproperlyConfigured(f"{name}={os.environ.get(name)!r}: use comma-separated whole numbers.") from None
    if minimum is not None and any(number < minimum for number in numbers):
        raise ImproperlyConfigured(f"{name}={os.environ.get(name)!r}: every number must be at least {minimum}.")
    return numbers


def env_choice(name: str, default: str, choices: Iterable[str]) -> str:
    """One of `choices`, written in any case (LOG_LEVEL=info is INFO)."""
    value = env_str(name, default)
    by_upper = {choice.upper(): choice for choice in choices}
    if value.strip().upper() not in by_upper:
        raise ImproperlyConfigured(f"{name}={value!r}: use one of {', '.join(by_upper.values())}.")
    return by_upper[value.strip().upper()]
