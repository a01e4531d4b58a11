"""Rotation of the key that encrypts informants' identities."""

from __future__ import annotations

from datetime import datetime

from cryptography.fernet import Fernet
from sqlmodel import Session, col, select

from models.crypto import Vault, configured_keys, key_file, write_key_file
from models.settings import Settings
from models.tables import Petition
from tasks.infra.audit import record_event
from tasks.stationing.talks import rotate_tokens


def rotate_informant_key(*, session: Session, settings: Settings, by: str, now: datetime) -> int:
    """Re-encrypt every informant (and every talk plan and record) under a new key, in one transaction.

    With the key file (embedded default) a new key is generated; the file first holds new and old
    keys, so a crash at any point leaves every record readable, and the old keys are dropped
    only after the re-encryption committed. With keys from settings (XUNCHA_SECRET_KEYS) the
    operator puts the new key first; this re-encrypts under it, and the old one can then go."""
    old = configured_keys(settings)
    from_file = not settings.secret_keys
    keys = [Fernet.generate_key().decode(), *old] if from_file else old
    if from_file:
        write_key_file(key_file(settings), keys)
    v = Vault(keys, settings.crypto_profile)
    rows = list(session.exec(select(Petition).where(col(Petition.informant_enc) != "")))
    for p in rows:
        p.informant_enc = v.rotate(p.informant_enc)
        session.add(p)
    talks = rotate_tokens(session=session, v=v)  # talk plans and records are encrypted under the same keys
    record_event(session=session, actor=by.strip(), action="轮换加密密钥", entity="petition", entity_id=None, now=now,
                 detail={"records": len(rows), "talks": talks, "source": "密钥文件" if from_file else "配置"})
    session.commit()
    if from_file:
        write_key_file(key_file(settings), keys[:1])
    return len(rows)
