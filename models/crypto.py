"""Encryption at rest for informants' identities (Fernet: AES-128-CBC with HMAC-SHA256).

Keys come from settings (XUNCHA_SECRET_KEYS, a JSON list, newest first) or, on the embedded
default, from a key file under the data home that is created on first use (mode 0600). Several
keys may be live at once: the first encrypts, all decrypt, which is how rotation works."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from models.errors import DomainError
from models.settings import Settings


def key_file(settings: Settings) -> Path:
    return settings.home / "keys" / "informant.keys"


def _read_keys(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="ascii").splitlines() if line.strip()]


def write_key_file(path: Path, keys: list[str]) -> None:
    """Replace the key file atomically; only the owner may read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write("\n".join(keys) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def configured_keys(settings: Settings) -> list[str]:
    """The live keys, newest first; creates the key file on first use when none are configured."""
    if settings.secret_keys:
        return [k.get_secret_value() for k in settings.secret_keys]
    path = key_file(settings)
    if not path.exists():
        write_key_file(path, [Fernet.generate_key().decode()])
    return _read_keys(path)


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
