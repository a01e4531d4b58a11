"""One-time codes that prove who answers: sent in an alert to the designated person, kept only as
a keyed hash (HMAC-SHA256 under the live secret keys, so a database copy does not reveal them)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from models.crypto import configured_keys
from models.settings import Settings

MAX_FAILURES = 5


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def digest(settings: Settings, purpose: str, record_id: int, code: str) -> str:
    key = configured_keys(settings)[0]
    return hmac.new(key.encode(), f"{purpose}:{record_id}:{code.strip()}".encode(), hashlib.sha256).hexdigest()


def matches(settings: Settings, purpose: str, record_id: int, code: str, stored: str) -> bool:
    """Whether `code` is the one whose hash is `stored`, under any live key (rotation-safe)."""
    if not stored or not code.strip():
        return False
    for key in configured_keys(settings):
        mac = hmac.new(key.encode(), f"{purpose}:{record_id}:{code.strip()}".encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(mac, stored):
            return True
    return False
