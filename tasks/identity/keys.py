"""The identity key: kept apart from the informant keys (models/crypto.py) so that rotating one
leaves the other alone. Each use gets its own key derived with HKDF (TOTP secrets at rest, gate
receipts), so no two purposes share a key. Under the `gm` profile the derivation is HKDF-SM3 and
the keys are SM4's 16 bytes; under `intl` HKDF-SHA256, 32 bytes, as before profiles."""

from __future__ import annotations

import secrets

from models.crypto import GM, INTL, Sealer, hkdf, read_key_file, write_key_file
from models.settings import Settings


def identity_keys(settings: Settings) -> list[str]:
    """The live identity keys, newest first; a key file under home on first use (mode 0600)."""
    if settings.identity_keys:
        return [k.get_secret_value() for k in settings.identity_keys]
    path = settings.home / "keys" / "identity.keys"
    if not path.exists():
        write_key_file(path, [secrets.token_urlsafe(32)])
    return read_key_file(path)


def derive(master: str, purpose: str, profile: str = INTL, *, length: int = 32) -> bytes:
    return hkdf(profile, master.encode(), purpose.encode(), length=length, salt=b"xuncha-identity")


def purpose_keys(settings: Settings, purpose: str, profile: str = INTL) -> list[bytes]:
    """The keys for one purpose under `profile`, newest first (all verify, the first signs)."""
    return [derive(k, purpose, profile) for k in identity_keys(settings)]


def sealer(settings: Settings, purpose: str) -> Sealer:
    """Encryption for one purpose under the current profile; opens what either profile sealed."""
    return Sealer(settings.crypto_profile,
                  lambda p: [derive(k, purpose, p, length=16 if p == GM else 32) for k in identity_keys(settings)])
