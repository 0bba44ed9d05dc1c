"""Writes about users and their credentials."""

import hashlib
import hmac
import secrets

from django.utils import timezone

from leadflow.accounts.models import ApiKey, User
from leadflow.errors import LeadflowError

KEY_PREFIX = "lf_"


class InvalidApiKey(LeadflowError):
    """The key is unknown, malformed or revoked."""


def _hash_secret(secret: str) -> str:
    # API keys carry 256 bits of randomness, so a fast hash is safe (nothing to brute-force)
    # and keeps every API request cheap; passwords, which are guessable, use Django's PBKDF2.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(*, user: User, name: str = "") -> tuple[ApiKey, str]:
    """Make a key for `user`. Returns the row and the full key, which is never stored."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(user=user, name=name, prefix=prefix, key_hash=_hash_secret(secret))
    return key, f"{KEY_PREFIX}{prefix}_{secret}"


def authenticate_api_key(raw: str) -> User:
    """The active user behind a presented key, or InvalidApiKey."""
    if not raw.startswith(KEY_PREFIX) or raw.count("_") < 2:
        raise InvalidApiKey("malformed API key")
    prefix, _, secret = raw[len(KEY_PREFIX) :].partition("_")
    key = ApiKey.objects.select_related("user").filter(prefix=prefix, revoked_at=None).first()
    if key is None or not hmac.compare_digest(key.key_hash, _hash_secret(secret)):
        raise InvalidApiKey("unknown or revoked API key")
    if not key.user.is_active:
        raise InvalidApiKey("the key's user is deactivated")
    now = timezone.now()
    # One write a minute at most, so a busy integration does not turn every read into a write.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key.user


def revoke_api_key(*, key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk, revoked_at=None).update(revoked_at=timezone.now())
