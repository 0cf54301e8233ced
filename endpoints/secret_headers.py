"""Secret header values (Authorization, tokens, keys...) on the endpoint and application pages:
shown masked, revealed only when the owner asks (`?reveal=headers`), and kept as they are when an
edit posts the mask back, so the owner can replace a secret without ever displaying it."""
import re

# Header names whose values are credentials more often than not.
SECRET_NAME = re.compile(r"auth|token|secret|key|passw|signature|cookie|session|credential", re.IGNORECASE)
MASK = "••••••••"


def is_secret(name: str | None) -> bool:
    return bool(SECRET_NAME.search(name or ""))


def header_rows(headers: dict[str, str] | None, *, reveal: bool = False) -> list[tuple[str, str, bool]]:
    """[(name, value shown, secret?)] for display: secret values masked unless `reveal`."""
    return [(name, value if reveal or not is_secret(name) or not value else MASK, is_secret(name))
            for name, value in (headers or {}).items()]


def masked(headers: dict[str, str] | None) -> dict[str, str]:
    """The headers with secret values replaced by MASK: what an edit form shows."""
    return {name: shown for name, shown, _ in header_rows(headers)}


def keep_masked(new: dict[str, str] | None, old: dict[str, str] | None) -> dict[str, str]:
    """The posted headers with each value left at MASK put back to its stored value."""
    old = old or {}
    return {name: old[name] if value == MASK and name in old else value for name, value in (new or {}).items()}
