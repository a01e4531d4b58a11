"""The identity key: kept apart from the informant keys (models/crypto.py) so that rotating one
leaves the other alone. Each use gets its own key derived with HKDF (TOTP secrets at rest, gate
receipts), so no two purposes share a key."""

from __future__ import annotations

import base64
import secrets

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from models.crypto import read_key_file, write_key_file
from models.settings import Settings


def identity_keys(settings: Settings) -> list[str]:
    """The live identity keys, newest first; a key file under home on first use (mode 0600)."""
    if settings.identity_keys:
        return [k.get_secret_value() for k in settings.identity_keys]
    path = settings.home / "keys" / "identity.keys"
    if not path.exists():
        write_key_file(path, [secrets.token_urlsafe(32)])
    return read_key_file(path)


def derive(master: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"xuncha-identity", info=purpose.encode()).derive(master.encode())


def purpose_keys(settings: Settings, purpose: str) -> list[bytes]:
    """The keys for one purpose, newest first (all verify, the first signs or encrypts)."""
    return [derive(k, purpose) for k in identity_keys(settings)]


def fernet_keys(settings: Settings, purpose: str) -> list[Fernet]:
    return [Fernet(base64.urlsafe_b64encode(k)) for k in purpose_keys(settings, purpose)]
