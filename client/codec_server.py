"""The codec endpoint: the Temporal UI and `temporal --codec-endpoint` decrypt payloads here.

Temporal's codec-server protocol, read side only: `POST …/decode` takes and returns a
proto3-JSON `Payloads` body (`{"payloads": [{"metadata": {"encoding": "<base64>"}, "data":
"<base64>"}]}`); only the last path segment counts, so `/{namespace}/decode` works too.
`…/encode` is refused: whoever may encrypt under casework's keys may command its workflows
(`domain.authority`), so the keys encrypt only inside casework's own processes; the UI shows
payloads and does not send new ones.
Browsers may call it from the configured origins only (the Temporal UI's). With
CASEWORK_CODEC_TOKEN set, every call needs `Authorization: Bearer <token>`: `_authorized` is
the hook where the signed-in console will check the person instead.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from config.codec import CodecKeyError, EncryptionCodec, Keyring, unmarked
from config.settings import Settings

log = logging.getLogger("casework.codec")

MAX_BODY = 16 * 1024 * 1024
ALLOW_HEADERS = "Content-Type, X-Namespace, Authorization, Authorization-Extras"


class CodecServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, codec: EncryptionCodec, host: str, port: int, origins: Iterable[str],
                 token: str = "") -> None:
        if not token and not _is_loopback(host):
            raise ValueError(f"refusing to serve decrypted payloads on {host} without a token "
                             f"(set CASEWORK_CODEC_TOKEN)")
        super().__init__((host, port), _Handler)
        self.codec = codec
        self.origins = frozenset(origins)
        self.token = token
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> CodecServer:
        self._thread = threading.Thread(target=self.serve_forever, name="codec-endpoint",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def build(settings: Settings, keyring: Keyring | None = None) -> CodecServer:
    """The endpoint as configured (CASEWORK_CODEC_HOST/PORT/ORIGINS/TOKEN), not yet started."""
    origins = [o.strip() for o in settings.codec_origins.split(",") if o.strip()]
    return CodecServer(EncryptionCodec(keyring or Keyring.configured(settings)),
                       settings.codec_host, settings.codec_port, origins, settings.codec_token)


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    server: CodecServer

    def do_OPTIONS(self) -> None:  # noqa: N802 - http.server's naming
        """CORS preflight: no token is sent (browsers never do), only the origin is checked."""
        if not self._origin_allowed():
            self._reply(403, {"error": "origin not allowed"})
            return
        self._reply(204, None, {"Access-Control-Allow-Methods": "POST, OPTIONS",
                                "Access-Control-Allow-Headers": ALLOW_HEADERS,
                                "Access-Control-Max-Age": "600"})

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        operation = self.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if operation == "encode":
            self._reply(403, {"error": "casework's codec endpoint decodes only: encrypting "
                                       "under its keys is commanding its workflows"})
        elif operation != "decode":
            self._reply(404, {"error": "POST …/decode"})
        elif not self._origin_allowed():
            self._reply(403, {"error": "origin not allowed"})
        elif not self._authorized():
            self._reply(401, {"error": "bearer token required"}, {"WWW-Authenticate": "Bearer"})
        elif (length := _length(self.headers.get("Content-Length"))) is None:
            self._reply(400, {"error": "a numeric Content-Length is required"})
        elif length > MAX_BODY:
            self._reply(413, {"error": f"body larger than {MAX_BODY} bytes"})
        else:
            self._decode(self.rfile.read(length))

    def _decode(self, body: bytes) -> None:
        try:
            payloads = json_format.Parse(body, Payloads(), ignore_unknown_fields=True)
        except json_format.ParseError as e:
            self._reply(400, {"error": f"not a Payloads JSON body: {e}"})
            return
        codec = self.server.codec
        try:  # as it was sealed: the mark is for workers
            out = Payloads(payloads=[unmarked(codec.decrypt(p)) for p in payloads.payloads])
        except CodecKeyError as e:
            self._reply(422, {"error": str(e)})
            return
        self._reply(200, json_format.MessageToDict(out))

    def _origin_allowed(self) -> bool:
        """Calls without an Origin (CLI, services) are not a browser's: the token guards them."""
        origin = self.headers.get("Origin")
        return origin is None or origin in self.server.origins

    def _authorized(self) -> bool:
        if not self.server.token:
            return True
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.server.token}".encode())

    def _reply(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        origin = self.headers.get("Origin")
        if origin in self.server.origins:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Vary", "Origin")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        log.debug("%s " + format, self.client_address[0], *args)


def _length(header: str | None) -> int | None:
    """The body length a request declares, or None if it declares none that can be read."""
    return int(header) if header and header.isdigit() else None
