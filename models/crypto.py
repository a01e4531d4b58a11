"""Keys, one per purpose, and encryption at rest for informants' identities.

Informants' identities are encrypted with Fernet (AES-128-CBC with HMAC-SHA256). Their keys come
from settings (XUNCHA_SECRET_KEYS, a JSON list, newest first) or, on the embedded default, from
a key file under the data home that is created on first use (mode 0600). Several keys may be
live at once: the first encrypts, all decrypt, which is how rotation works (tasks/clues/keys.py).

Every other secret is derived from one master key (XUNCHA_MASTER_KEY, or home/keys/master.key
made on first use) with HKDF-SHA256, one key per purpose (`PURPOSES`): the HMAC of one-time codes,
the encryption of a code waiting in the outbox, the audit chain's HMAC, the fingerprints of
addresses hidden in exports, the public page's query codes and client hashes. Rotating the informants' key touches none of them, and a key of one
purpose reveals nothing of the master or of another purpose. None of them is in the database."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from models.errors import DomainError
from models.settings import Settings

MASTER_MIN = 32  # characters of a configured master key
# purpose -> the HKDF info label. A label never changes: a key derived under it protects stored data.
PURPOSES = {
    "code": b"xuncha/one-time-code-hmac/v1",
    "outbox": b"xuncha/outbox-secret/v1",
    "audit": b"xuncha/audit-chain-hmac/v1",
    "address": b"xuncha/address-fingerprint/v1",
    "public-code": b"xuncha/public-report-query-code/v1",
    "public-client": b"xuncha/public-page-client/v1",
}


def key_file(settings: Settings) -> Path:
    return settings.keys_dir / "informant.keys"


def master_key_file(settings: Settings) -> Path:
    return settings.keys_dir / "master.key"


def _create_once(path: Path, text: str) -> None:
    """Write `path` (mode 0600) unless it exists; when several processes start at once, the first
    one's file stands and every process reads that one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # atomic, and refuses to replace a file another process made first
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def master_key(settings: Settings) -> bytes:
    """The master secret: from settings, else the key file (created on first use)."""
    if settings.master_key is not None:
        value = settings.master_key.get_secret_value().strip()
        if len(value) < MASTER_MIN:
            raise DomainError(f"主密钥 XUNCHA_MASTER_KEY 太短：至少{MASTER_MIN}个字符"
                              "（可用 python3 -c 'import secrets; print(secrets.token_urlsafe(32))' 生成）")
        return value.encode()
    path = master_key_file(settings)
    if not path.exists():
        _create_once(path, secrets.token_urlsafe(32))
    value = path.read_text(encoding="ascii").strip()
    if len(value) < MASTER_MIN:
        raise DomainError(f"主密钥文件 {path} 内容无效（至少{MASTER_MIN}个字符）")
    return value.encode()


def derived_key(settings: Settings, purpose: str) -> bytes:
    """32 bytes for one purpose (see PURPOSES), derived from the master key with HKDF-SHA256."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSES[purpose]).derive(master_key(settings))


def outbox_cipher(settings: Settings) -> Fernet:
    """Encrypts a one-time code while it waits in the outbox (tasks/infra/alerts.py)."""
    return Fernet(base64.urlsafe_b64encode(derived_key(settings, "outbox")))


def read_key_file(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="ascii").splitlines() if line.strip()]


def write_private(path: Path, text: str, tmp: Path) -> None:
    """Replace `path` atomically by `text` (ASCII) written to `tmp` first and synced; only the
    owner may read it (0600)."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_key_file(path: Path, keys: list[str]) -> None:
    """Replace the key file atomically; only the owner may read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, "\n".join(keys) + "\n", path.with_suffix(".tmp"))


def configured_keys(settings: Settings) -> list[str]:
    """The live keys, newest first; creates the key file on first use when none are configured."""
    if settings.secret_keys:
        return [k.get_secret_value() for k in settings.secret_keys]
    path = key_file(settings)
    if not path.exists():
        _create_once(path, Fernet.generate_key().decode())
    return read_key_file(path)


class Vault:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise DomainError("未配置加密密钥")
        try:
            self._f = MultiFernet([Fernet(k.encode()) for k in keys])
        except ValueError:
            raise DomainError("加密密钥格式不正确（应为 Fernet 密钥：32 字节的 URL 安全 Base64 编码）") from None

    def encrypt(self, text: str) -> str:
        return self._f.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._f.decrypt(token.encode()).decode()
        except InvalidToken:
            raise DomainError("无法解密：当前密钥中没有加密该记录时所用的密钥") from None

    def rotate(self, token: str) -> str:
        """Re-encrypt under the newest key (it must decrypt under one of the live keys)."""
        try:
            return self._f.rotate(token.encode()).decode()
        except InvalidToken:
            raise DomainError("无法轮换：当前密钥中没有加密该记录时所用的密钥") from None


def vault(settings: Settings) -> Vault:
    return Vault(configured_keys(settings))
