"""Secrets handed to devices and API clients: random, stored only as a SHA-256 hash, compared in
constant time. SHA-256 (not a slow password hash) is right here because the tokens are 256-bit
random values, not guessable passwords, and the callback checks one on every request."""
import hashlib
import hmac
import secrets


def token_new() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, hashed: str) -> bool:
    return hash_matches(token_hash(token), hashed)


def hash_matches(presented: str, hashed: str) -> bool:
    """A presented token's hash (token_hash) against the stored one."""
    return hmac.compare_digest(presented, hashed or "")
