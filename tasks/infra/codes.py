"""One-time codes that prove who answers: sent in an alert to the designated person, kept only as
a keyed hash (HMAC-SHA256, or HMAC-SM3 under the `gm` profile, under the code key derived from the
master key, models/crypto.py), so a database copy does not reveal them and rotating the informants'
key does not void them. The hash cannot be made again without the code, so a profile switch leaves
it as it is: it is checked in the profile its prefix names until the code is spent or replaced."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from models.crypto import GM, INTL, SM3_TAG, configured_keys, derived_key, mac_bytes
from models.settings import Settings

MAX_FAILURES = 5
# Marks a hash made under the code key. A hash without it (64 hex digits) was made before the keys
# were separated, under the informants' key; it is still accepted until it is spent or replaced.
PREFIX = "k1:"


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def _message(purpose: str, record_id: int, code: str) -> bytes:
    return f"{purpose}:{record_id}:{code.strip()}".encode()


def digest(settings: Settings, purpose: str, record_id: int, code: str, profile: str | None = None) -> str:
    """The stored hash: PREFIX and HMAC-SHA256 (`intl`), or SM3_TAG and HMAC-SM3 (`gm`)."""
    profile = profile or settings.crypto_profile
    mac = mac_bytes(profile, derived_key(settings, "code", profile), _message(purpose, record_id, code))
    return (SM3_TAG if profile == GM else PREFIX) + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def matches(settings: Settings, purpose: str, record_id: int, code: str, stored: str) -> bool:
    """Whether `code` is the one whose hash is `stored`."""
    if not stored or not code.strip():
        return False
    if stored.startswith(SM3_TAG):
        return hmac.compare_digest(digest(settings, purpose, record_id, code, GM), stored)
    if stored.startswith(PREFIX):
        return hmac.compare_digest(digest(settings, purpose, record_id, code, INTL), stored)
    for key in configured_keys(settings):  # a hash from before the code key (see PREFIX)
        mac = hmac.new(key.encode(), _message(purpose, record_id, code), hashlib.sha256).hexdigest()
        if hmac.compare_digest(mac, stored):
            return True
    return False
