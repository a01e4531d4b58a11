"""Keys, one per purpose, and encryption at rest for informants' identities.

Informants' identities are encrypted with Fernet (AES-128-CBC with HMAC-SHA256). Their keys come
from settings (XUNCHA_SECRET_KEYS, a JSON list, newest first) or, on the embedded default, from
a key file under the data home that is created on first use (mode 0600). Several keys may be
live at once: the first encrypts, all decrypt, which is how rotation works (tasks/clues/keys.py).

Every other secret is derived from one master key (XUNCHA_MASTER_KEY, or home/keys/master.key
made on first use) with HKDF-SHA256, one key per purpose (`PURPOSES`): the HMAC of one-time codes,
the encryption of a code waiting in the outbox, the audit chain's HMAC, the fingerprints of
addresses hidden in exports, the public page's query codes and client hashes. Rotating the informants' key touches none of them, and a key of one
purpose reveals nothing of the master or of another purpose. None of them is in the database.

Two algorithm profiles (settings.crypto_profile, XUNCHA_CRYPTO_PROFILE): `intl` (Fernet, HMAC-SHA256,
HKDF-SHA256, SHA-256) and `gm` (国密: SM4-GCM, HMAC-SM3, HKDF-SM3, SM3; GB/T 39786-2021). The
profile decides how new data is written; every stored value says which profile made it, so data of
both is read whatever the setting: a `gm` ciphertext starts with SM4_TAG, a `gm` MAC with SM3_TAG,
and a value without a tag is the `intl` form that was stored before profiles existed. `xuncha
crypto-switch` (tasks/infra/crypto_switch.py) rewrites existing data from one profile to the other."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
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


INTL, GM = "intl", "gm"
PROFILES = (INTL, GM)
PROFILE_NAMES = {INTL: "国际通用算法（AES/SHA-256）", GM: "国密算法（SM4/SM3）"}
CIPHER_NAMES = {INTL: "Fernet（AES-128-CBC + HMAC-SHA256）", GM: "SM4-GCM（128位密钥）"}
MAC_NAMES = {INTL: "HMAC-SHA256", GM: "HMAC-SM3"}
HASH_NAMES = {INTL: "SHA-256", GM: "SM3"}
KDF_NAMES = {INTL: "HKDF-SHA256", GM: "HKDF-SM3"}
SM4_TAG = "sm4gcm:"  # a ciphertext sealed under `gm`: the tag, then base64url(nonce | ciphertext | GCM tag)
SM3_TAG = "sm3:"  # a MAC made under `gm`: the tag, then base64url(HMAC-SM3); fits a 64-character column
NONCE = 12


def profile_of(settings: Settings) -> str:
    return settings.crypto_profile


def _hash(profile: str) -> hashes.HashAlgorithm:
    return hashes.SM3() if profile == GM else hashes.SHA256()


def hkdf(profile: str, material: bytes, info: bytes, *, length: int = 32, salt: bytes | None = None) -> bytes:
    """HKDF under the profile's hash (HKDF-SHA256 or HKDF-SM3)."""
    return HKDF(algorithm=_hash(profile), length=length, salt=salt, info=info).derive(material)


def mac_bytes(profile: str, key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 or HMAC-SM3 of `message`."""
    if profile == GM:
        h = crypto_hmac.HMAC(key, hashes.SM3())
        h.update(message)
        return h.finalize()
    return hmac.new(key, message, hashlib.sha256).digest()


def tagged_mac(profile: str, key: bytes, message: bytes) -> str:
    """A MAC as stored: 64 hex digits under `intl` (the form stored before profiles), SM3_TAG and
    base64url under `gm` (47 characters)."""
    raw = mac_bytes(profile, key, message)
    return SM3_TAG + _b64(raw) if profile == GM else raw.hex()


def mac_profile(stored: str) -> str:
    """The profile whose MAC `stored` is."""
    return GM if stored.startswith(SM3_TAG) else INTL


def file_hash(profile: str) -> hashes.Hash:
    return hashes.Hash(_hash(profile))


def digest_hex(profile: str, data: bytes) -> str:
    h = file_hash(profile)
    h.update(data)
    return h.finalize().hex()


def key_id(profile: str, key: bytes) -> str:
    """A key's public name: 16 hex digits of its one-way hash (the key cannot be found from it)."""
    return digest_hex(profile, b"xuncha/key-id\0" + key)[:16]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_profile(token: str) -> str:
    """The profile whose ciphertext `token` is."""
    return GM if token.startswith(SM4_TAG) else INTL


class Sealer:
    """Authenticated encryption under a profile: a Fernet token (`intl`, untagged as stored before
    profiles) or SM4-GCM (`gm`, SM4_TAG). `keys(profile)` gives that profile's keys, newest first
    (32 bytes for Fernet, 16 for SM4): the newest seals, all open. Opening reads the tag, so a
    token of either profile opens whatever the current one is. Failures raise InvalidToken."""

    def __init__(self, profile: str, keys: Callable[[str], list[bytes]]) -> None:
        self.profile = profile
        self._keys = keys

    def seal(self, data: bytes) -> str:
        return self.seal_as(self.profile, data)

    def seal_as(self, profile: str, data: bytes) -> str:
        key = self._keys(profile)[0]
        if profile == GM:
            nonce = os.urandom(NONCE)
            enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
            body = enc.update(data) + enc.finalize()
            return SM4_TAG + _b64(nonce + body + enc.tag)
        return Fernet(base64.urlsafe_b64encode(key)).encrypt(data).decode()

    def open(self, token: str) -> bytes:
        if token.startswith(SM4_TAG):
            try:
                raw = _unb64(token.removeprefix(SM4_TAG))
            except (binascii.Error, ValueError):
                raise InvalidToken from None
            if len(raw) < NONCE + 16:
                raise InvalidToken
            nonce, body, tag = raw[:NONCE], raw[NONCE:-16], raw[-16:]
            for key in self._keys(GM):
                dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
                try:
                    return dec.update(body) + dec.finalize()
                except InvalidTag:
                    continue
            raise InvalidToken
        return MultiFernet([Fernet(base64.urlsafe_b64encode(k)) for k in self._keys(INTL)]).decrypt(token.encode())

    def reseal(self, token: str) -> str:
        """The data of `token` sealed afresh under the current profile and newest key."""
        return self.seal(self.open(token))


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


def derived_key(settings: Settings, purpose: str, profile: str | None = None, *, length: int = 32) -> bytes:
    """A key for one purpose (see PURPOSES), derived from the master key with HKDF-SHA256 (`intl`,
    as before profiles) or HKDF-SM3 (`gm`); by default under the configured profile."""
    return hkdf(profile or settings.crypto_profile, master_key(settings), PURPOSES[purpose], length=length)


def outbox_cipher(settings: Settings) -> Sealer:
    """Encrypts a one-time code while it waits in the outbox (tasks/infra/alerts.py)."""
    return Sealer(settings.crypto_profile,
                  lambda p: [derived_key(settings, "outbox", p, length=16 if p == GM else 32)])


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


INFORMANT_SM4 = b"xuncha/informant-sm4-gcm/v1"


class Vault:
    """Informants' identities: Fernet under the informant keys themselves (`intl`), SM4-GCM under a
    key derived from each with HKDF-SM3 (`gm`)."""

    def __init__(self, keys: list[str], profile: str = INTL) -> None:
        if not keys:
            raise DomainError("未配置加密密钥")
        try:
            raw = [base64.urlsafe_b64decode(k.encode()) for k in keys]
            MultiFernet([Fernet(k.encode()) for k in keys])
        except (ValueError, binascii.Error):
            raise DomainError("加密密钥格式不正确（应为 Fernet 密钥：32 字节的 URL 安全 Base64 编码）") from None
        sm4 = [hkdf(GM, k, INFORMANT_SM4, length=16) for k in raw]
        self.keys = raw
        self.sealer = Sealer(profile, lambda p: sm4 if p == GM else raw)
        self._s = self.sealer

    @property
    def profile(self) -> str:
        return self._s.profile

    def encrypt(self, text: str) -> str:
        return self._s.seal(text.encode())

    def decrypt(self, token: str) -> str:
        try:
            return self._s.open(token).decode()
        except InvalidToken:
            raise DomainError("无法解密：当前密钥中没有加密该记录时所用的密钥") from None

    def rotate(self, token: str) -> str:
        """Re-encrypt under the newest key and the current profile (it must decrypt under one of the live keys)."""
        try:
            return self._s.reseal(token)
        except InvalidToken:
            raise DomainError("无法轮换：当前密钥中没有加密该记录时所用的密钥") from None


def vault(settings: Settings) -> Vault:
    return Vault(configured_keys(settings), settings.crypto_profile)
