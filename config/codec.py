"""Payload encryption: every payload casework puts in Temporal history is sealed with AES-256-GCM.

A payload becomes `{encoding: binary/encrypted, encryption-key-id: <kid>}` around
`nonce (12 bytes) || ciphertext+tag` of the whole serialized original Payload proto, so its
metadata (encoding, pydantic type) is hidden too. Keys come from configuration as a key set:
one active key id encrypts, every key in the set decrypts (rotation). Payloads without the
encrypted encoding pass through, so histories recorded before encryption still decode and replay.

A payload the codec decrypted carries `casework-sealed: <kid>` once decoded (and a payload that
passed through never does, whatever it claims): the payload converter tells a `Command` so, and
workflows refuse commands that did not arrive sealed (`domain.authority`).
"""

from __future__ import annotations

import base64
import dataclasses
import hmac
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    PayloadCodec,
)

from config.settings import Settings
from domain.core import Sealable
from domain.errors import Unavailable

ENCODING = "encoding"
ENCRYPTED = b"binary/encrypted"
KEY_ID = "encryption-key-id"
SEALED = "casework-sealed"
NONCE_BYTES = 12
KEY_BYTES = 32
KEYS_FORMAT = '{"active": "<key id>", "keys": {"<key id>": "<base64 of 32 random bytes>"}}'


class CodecKeyError(Unavailable):
    """No usable encryption key: none configured, or a payload's key id is not configured or
    its key does not open the payload."""


@dataclasses.dataclass(frozen=True)
class Keyring:
    """Keys by id: `active` encrypts new payloads, every key decrypts."""

    active: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise CodecKeyError(f"active key id {self.active!r} is not among the keys "
                                f"({', '.join(self.keys) or 'none'})")
        if short := [kid for kid, key in self.keys.items() if len(key) != KEY_BYTES]:
            raise CodecKeyError(f"key(s) {', '.join(short)} are not {KEY_BYTES} bytes (AES-256)")

    @classmethod
    def generate(cls, kid: str) -> Keyring:
        return cls(kid, {kid: AESGCM.generate_key(bit_length=8 * KEY_BYTES)})

    @classmethod
    def parse(cls, text: str, source: str) -> Keyring:
        try:
            doc = json.loads(text)
            if not (isinstance(doc, dict) and isinstance(doc.get("active"), str)
                    and isinstance(doc.get("keys"), dict)):
                raise ValueError("not a key set")
            keys = {str(kid): base64.b64decode(key, validate=True)
                    for kid, key in doc["keys"].items()}
            return cls(doc["active"], keys)
        except (ValueError, TypeError, CodecKeyError) as e:
            raise CodecKeyError(f"{source}: {e}; expected {KEYS_FORMAT}") from None

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            return cls.parse(path.read_text(), str(path))
        except OSError as e:
            raise CodecKeyError(f"cannot read payload encryption keys from {path}: "
                                f"{e.strerror}; set CASEWORK_CODEC_KEYS or "
                                f"CASEWORK_CODEC_KEYS_FILE (`make run` creates a development "
                                f"key)") from None

    @classmethod
    def configured(cls, settings: Settings) -> Keyring:
        """The key set from CASEWORK_CODEC_KEYS, else from the key file. Never made up here:
        a process without keys must not start."""
        if settings.codec_keys:
            return cls.parse(settings.codec_keys, "CASEWORK_CODEC_KEYS")
        return cls.load(Path(settings.codec_keys_file))

    def derived(self, purpose: str) -> bytes:
        """A key for another purpose, derived from the active key (HKDF-like HMAC)."""
        return hmac.new(self.keys[self.active], f"casework:{purpose}".encode(),
                        "sha256").digest()

    def to_json(self) -> str:
        return json.dumps({"active": self.active, "keys": {
            kid: base64.b64encode(key).decode() for kid, key in self.keys.items()}}, indent=2)


def ensure_dev_keys(settings: Settings) -> Path | None:
    """For `make run`: write a fresh development key set (mode 0600) where none is configured.
    Returns the file it wrote, or None when keys were already there."""
    if settings.codec_keys:
        return None
    path = Path(settings.codec_keys_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    kid = f"dev-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(2)}"
    with os.fdopen(fd, "w") as f:
        f.write(Keyring.generate(kid).to_json())
    return path


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole payloads. Synchronous `encrypt`/`decrypt` serve the codec
    endpoint; the async pair serves the SDK (each call is microseconds: no thread hop)."""

    def __init__(self, keyring: Keyring) -> None:
        self._ciphers = {kid: AESGCM(key) for kid, key in keyring.keys.items()}
        self._active = self._ciphers[keyring.active]
        self._metadata = {ENCODING: ENCRYPTED, KEY_ID: keyring.active.encode()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        payload = unmarked(payload)  # a mark of decoding is never sealed into a payload
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._active.encrypt(nonce, payload.SerializeToString(), None)
        return Payload(metadata=self._metadata, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get(ENCODING) != ENCRYPTED:
            return unmarked(payload)
        kid = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise CodecKeyError(f"payload encrypted under key id {kid!r}, which is not "
                                f"configured (configured: {', '.join(self._ciphers)})")
        try:
            plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], None)
        except InvalidTag:
            raise CodecKeyError(f"payload under key id {kid!r} does not decrypt: the configured "
                                f"key for that id differs, or the payload was altered") from None
        opened = Payload.FromString(plain)
        opened.metadata[SEALED] = kid.encode()
        return opened


def unmarked(payload: Payload) -> Payload:
    """The payload without a seal mark (one the codec made, or one a payload brought itself:
    `temporal … --input-meta`)."""
    if SEALED not in payload.metadata:
        return payload
    copy = Payload()
    copy.CopyFrom(payload)
    del copy.metadata[SEALED]
    return copy


class _SealAwareJSON(PydanticJSONPlainPayloadConverter):
    """Pydantic JSON that tells every `Sealable` message in a payload (a start input's request
    too) whether the payload arrived sealed."""

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> object:
        value = super().from_payload(payload, type_hint)
        _mark(value, payload.metadata[SEALED].decode() if SEALED in payload.metadata else None)
        return value


def _mark(value: object, key_id: str | None) -> None:
    if isinstance(value, Sealable):
        value.seal(key_id)
    if isinstance(value, BaseModel):
        for field in value.__dict__.values():
            _mark(field, key_id)
    elif isinstance(value, list | tuple):
        for item in value:
            _mark(item, key_id)
    elif isinstance(value, dict):
        for item in value.values():
            _mark(item, key_id)


class PayloadConverter(CompositePayloadConverter):
    """The SDK's payload converters, with pydantic's JSON in place of plain JSON."""

    def __init__(self) -> None:
        json = _SealAwareJSON()
        super().__init__(*(json if isinstance(c, JSONPlainPayloadConverter) else c
                           for c in DefaultPayloadConverter.default_encoding_payload_converters))


def data_converter(keyring: Keyring) -> DataConverter:
    """The data converter of every casework process: pydantic JSON payloads, encrypted; failure
    messages and stack traces move into an encrypted payload too (they can quote personal data)."""
    return DataConverter(
        payload_converter_class=PayloadConverter, payload_codec=EncryptionCodec(keyring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes)
