"""The codec endpoint over HTTP: Temporal's codec-server JSON, CORS for the UI only, the token."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from client import codec_server
from config.codec import EncryptionCodec, Keyring
from config.settings import Settings
from tests.test_codec import clear

UI = "http://localhost:8233"
KEYRING = Keyring.generate("k1")
CODEC = EncryptionCodec(KEYRING)


def serve(tmp_path: Path, token: str = "") -> codec_server.CodecServer:
    settings = Settings(data_dir=tmp_path, codec_port=0, codec_token=token,
                        codec_origins=f"{UI}, http://127.0.0.1:8233")
    return codec_server.build(settings, KEYRING).start()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[codec_server.CodecServer]:
    with serve(tmp_path) as s:
        yield s


def call(url: str, body: bytes | None = None, method: str = "POST",
         **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers={
        k.replace("_", "-"): v for k, v in headers.items()})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def sealed_body() -> bytes:
    return json_format.MessageToJson(Payloads(payloads=[CODEC.encrypt(clear())])).encode()


def test_decode_returns_the_clear_payload_in_codec_server_json(
        server: codec_server.CodecServer) -> None:
    for path in ("/decode", "/default/decode"):  # `{namespace}` templating works too
        status, headers, body = call(server.url + path, sealed_body(),
                                     Content_Type="application/json", X_Namespace="default")
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert json_format.Parse(body, Payloads()).payloads == [clear()]
        assert json.loads(body)["payloads"][0]["metadata"]["encoding"] == "anNvbi9wbGFpbg=="

    # Encrypting under casework's keys is commanding its workflows: not served here.
    status, _, body = call(server.url + "/encode",
                           json_format.MessageToJson(Payloads(payloads=[clear()])).encode())
    assert status == 403 and b"decodes only" in body


def test_cors_only_for_the_ui_origin(server: codec_server.CodecServer) -> None:
    status, headers, _ = call(server.url + "/decode", sealed_body(), Origin=UI)
    assert status == 200 and headers["Access-Control-Allow-Origin"] == UI

    status, headers, _ = call(server.url + "/decode", method="OPTIONS", Origin=UI,
                              Access_Control_Request_Method="POST",
                              Access_Control_Request_Headers="content-type,x-namespace")
    assert status == 204 and headers["Access-Control-Allow-Origin"] == UI
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert {"content-type", "x-namespace", "authorization"} <= {
        h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}

    for method, body in (("POST", sealed_body()), ("OPTIONS", None)):
        status, headers, _ = call(server.url + "/decode", body, method=method,
                                  Origin="https://evil.example")
        assert status == 403 and "Access-Control-Allow-Origin" not in headers


def test_token_required_when_configured(tmp_path: Path) -> None:
    with serve(tmp_path, token="s3cret") as server:
        url = server.url + "/decode"
        assert call(url, sealed_body())[0] == 401
        assert call(url, sealed_body(), Authorization="Bearer wrong")[0] == 401
        assert call(url, sealed_body(), Authorization="Bearer s3cret")[0] == 200
        # Browsers send no credentials on a preflight: it must pass without the token.
        assert call(url, method="OPTIONS", Origin=UI)[0] == 204


def test_unknown_key_bad_body_and_paths_are_refused(server: codec_server.CodecServer) -> None:
    stranger = EncryptionCodec(Keyring.generate("retired"))
    body = json_format.MessageToJson(Payloads(payloads=[stranger.encrypt(clear())])).encode()
    status, _, answer = call(server.url + "/decode", body)
    assert status == 422 and "'retired'" in json.loads(answer)["error"]
    assert call(server.url + "/decode", b"{not json")[0] == 400
    assert call(server.url + "/secrets", sealed_body())[0] == 404
    for length in ("-1", "many"):  # a body length that cannot be read: refused, not waited on
        with socket.create_connection(server.server_address[:2], timeout=5) as raw:
            raw.sendall(f"POST /decode HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n"
                        "\r\n".encode())
            assert raw.recv(64).startswith(b"HTTP/1.0 400")


def test_no_open_endpoint_beyond_loopback() -> None:
    with pytest.raises(ValueError, match="without a token"):
        codec_server.CodecServer(CODEC, "0.0.0.0", 0, [UI])
