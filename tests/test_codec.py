"""The payload codec alone: sealing, pass-through, rotation, failures, keys from configuration."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from client.base import _from_failure
from config.codec import (
    ENCRYPTED,
    SEALED,
    CodecKeyError,
    EncryptionCodec,
    Keyring,
    data_converter,
    ensure_dev_keys,
)
from config.settings import Settings
from domain.core import Report, Source
from domain.errors import Refused

MARKER = "reporter says: ring 0170-5550199"


def clear(text: str = MARKER) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps({"text": text}).encode())


def opened(kid: str, text: str = MARKER) -> Payload:
    """A payload as the codec decrypted it: marked sealed under `kid`."""
    payload = clear(text)
    payload.metadata[SEALED] = kid.encode()
    return payload


def rotated(old: Keyring, kid: str) -> Keyring:
    """`old`'s keys plus a new active one, as an operator rotates."""
    return Keyring(kid, {**old.keys, kid: Keyring.generate(kid).keys[kid]})


async def test_round_trip_hides_data_and_metadata() -> None:
    codec = EncryptionCodec(Keyring.generate("k1"))
    [sealed] = await codec.encode([clear()])
    assert dict(sealed.metadata) == {"encoding": ENCRYPTED, "encryption-key-id": b"k1"}
    wire = sealed.SerializeToString()
    assert MARKER.encode() not in wire and b"json/plain" not in wire
    [again] = await codec.encode([clear()])
    assert again.data != sealed.data  # a fresh nonce each time
    assert await codec.decode([sealed, again]) == [opened("k1"), opened("k1")]


async def test_unencrypted_payload_passes_through() -> None:
    """Histories recorded before encryption still decode (and replay)."""
    codec = EncryptionCodec(Keyring.generate("k1"))
    assert await codec.decode([clear()]) == [clear()]
    assert await codec.decode([opened("k1")]) == [clear()]  # a claimed seal is dropped


async def test_rotation_old_key_still_decrypts_new_key_encrypts() -> None:
    old = Keyring.generate("2026-01")
    [sealed_before] = await EncryptionCodec(old).encode([clear()])
    new = rotated(old, "2026-07")
    codec = EncryptionCodec(new)
    assert await codec.decode([sealed_before]) == [opened("2026-01")]
    [sealed_after] = await codec.encode([clear()])
    assert sealed_after.metadata["encryption-key-id"] == b"2026-07"

    retired = EncryptionCodec(Keyring("2026-07", {"2026-07": new.keys["2026-07"]}))
    with pytest.raises(CodecKeyError, match="key id '2026-01', which is not configured"):
        await retired.decode([sealed_before])


async def test_wrong_key_or_altered_payload_is_refused() -> None:
    [sealed] = await EncryptionCodec(Keyring.generate("k1")).encode([clear()])
    with pytest.raises(CodecKeyError, match="'k1' does not decrypt"):
        await EncryptionCodec(Keyring.generate("k1")).decode([sealed])


async def test_converter_encrypts_models_and_failure_messages() -> None:
    converter = data_converter(Keyring.generate("k1"))
    report = Report(report_id="r-1", source=Source.USER_REPORT, reporter="buyer-7", text=MARKER,
                    received_at=datetime.now(UTC))
    [payload] = await converter.encode([report])
    assert payload.metadata["encoding"] == ENCRYPTED and MARKER.encode() not in payload.data
    assert await converter.decode([payload], [Report]) == [report]

    failure = Failure()
    await converter.encode_failure(ApplicationError(f"no: {MARKER}", type="Refused"), failure)
    assert MARKER.encode() not in failure.SerializeToString()
    error = _from_failure(await converter.decode_failure(failure))
    assert isinstance(error, Refused) and str(error) == f"no: {MARKER}"


def write_keys(path: Path, keyring: Keyring) -> Path:
    path.write_text(keyring.to_json())
    return path


def test_keys_from_file_or_environment(tmp_path: Path) -> None:
    in_file, in_env = Keyring.generate("file-key"), Keyring.generate("env-key")
    path = write_keys(tmp_path / "keys.json", in_file)
    assert Keyring.configured(Settings(codec_keys="", codec_keys_file=str(path))) == in_file
    both = Settings(codec_keys=in_env.to_json(), codec_keys_file=str(path))
    assert Keyring.configured(both) == in_env


def key_set(active: str, kid: str, key: bytes | str) -> str:
    encoded = base64.b64encode(key).decode() if isinstance(key, bytes) else key
    return json.dumps({"active": active, "keys": {kid: encoded}})


@pytest.mark.parametrize(("text", "problem"), [
    (None, "cannot read payload encryption keys from .*CASEWORK_CODEC_KEYS"),
    ("not json", "keys.json: Expecting value"),
    (key_set("a", "b", bytes(32)), "active key id 'a' is not among the keys \\(b\\)"),
    (key_set("a", "a", bytes(16)), "key\\(s\\) a are not 32 bytes"),
    (key_set("a", "a", "not base64!"), "keys.json: Only base64 data"),
])
def test_missing_or_bad_keys_are_a_clear_startup_error(tmp_path: Path, text: str | None,
                                                        problem: str) -> None:
    path = tmp_path / "keys.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(CodecKeyError, match=problem):
        Keyring.configured(Settings(codec_keys="", codec_keys_file=str(path)))


def test_dev_key_is_made_once_private_and_never_where_keys_are_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CASEWORK_CODEC_KEYS_FILE", raising=False)
    settings = Settings(data_dir=tmp_path, codec_keys="", codec_keys_file="")
    made = ensure_dev_keys(settings)
    assert made == tmp_path / "codec-keys.json"
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    keyring = Keyring.configured(settings)
    assert ensure_dev_keys(settings) is None and Keyring.configured(settings) == keyring

    given = Settings(data_dir=tmp_path / "prod", codec_keys=keyring.to_json())
    assert ensure_dev_keys(given) is None and not (tmp_path / "prod").exists()
