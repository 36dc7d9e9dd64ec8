"""The HTTP marketplace adapter against a real local server with scripted answers: what is final,
what is ambiguous (retried), and that a retry carries the same idempotency key."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

import worker as worker_module
from config.settings import Settings
from domain.core import (
    Action,
    ApplyRequest,
    Report,
    Source,
    Subject,
)
from domain.review.models import ScreenRequest
from marketplace.base import MAX_IMAGE, ActionRefused, MarketplaceUnavailable, SubjectNotFound
from marketplace.http import HttpMarketplace
from marketplace.images import render

Answer = Callable[[BaseHTTPRequestHandler], None]
LISTING = Subject.parse("listing:L-0001")
KEY = "case-uid-1:remove"


def answer(status: int, body: Any = None, content_type: str = "application/json",
           headers: dict[str, str] | None = None) -> Answer:
    data = (json.dumps(body) if content_type == "application/json" else str(body or "")).encode()

    def send(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        for name, value in {"Content-Type": content_type, "Content-Length": str(len(data)),
                            **(headers or {})}.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)
    return send


def slow(seconds: float, then: Answer) -> Answer:
    def send(h: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        then(h)
    return send


def cut_short(h: BaseHTTPRequestHandler) -> None:
    """Promise 100 bytes, send 12, close the connection."""
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", "100")
    h.end_headers()
    h.wfile.write(b'{"applied": ')
    h.close_connection = True


def hang_up(h: BaseHTTPRequestHandler) -> None:
    h.close_connection = True


HTML = "<html><body>Bad gateway</body></html>"
APPLIED = answer(200, {"applied": True, "detail": "removed"})
OWNER = answer(200, LISTING.model_dump(mode="json"))


class ScriptedMarketplace(ThreadingHTTPServer):
    """Answers each request with the next scripted answer and records what reached it."""

    daemon_threads = True  # closing does not wait for a slow answer nobody reads

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.seen.append((self.command, self.path, dict(self.headers)))
                outer.answers.pop(0)(self)

            do_GET = do_POST = _serve  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_port}/api"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out leaves a broken pipe behind: expected here


@pytest.fixture
def server() -> Iterator[ScriptedMarketplace]:
    s = ScriptedMarketplace()
    threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True).start()
    yield s
    s.shutdown()
    s.server_close()


def _apply(m: HttpMarketplace) -> Any:
    return m.apply(LISTING, Action.REMOVE, KEY, "replica")


def _facts(m: HttpMarketplace) -> Any:
    return m.facts(LISTING)


@pytest.mark.parametrize(("script", "call", "expected"), [
    (answer(301, headers={"Location": "/elsewhere"}), _apply, MarketplaceUnavailable),
    (answer(308, headers={"Location": "/elsewhere"}), _facts, MarketplaceUnavailable),
    (answer(200, HTML, "text/html"), _apply, MarketplaceUnavailable),
    (answer(200, HTML, "text/html"), _facts, MarketplaceUnavailable),
    (answer(404, HTML, "text/html"), _facts, MarketplaceUnavailable),
    (answer(404, {"error": "not_found", "detail": "no listing L-0001"}), _facts, SubjectNotFound),
    (answer(404, {"error": "not_found", "detail": "no listing L-0001"}), _apply, SubjectNotFound),
    (answer(422, {"error": "invalid", "detail": "remove does not apply"}), _apply, ActionRefused),
    (answer(429, {"error": "invalid"}), _apply, MarketplaceUnavailable),
    (answer(400, {"message": "bad"}), _apply, MarketplaceUnavailable),
    (answer(500, {"error": "internal"}), _apply, MarketplaceUnavailable),
    (answer(503, HTML, "text/html"), _facts, MarketplaceUnavailable),
    (slow(1.0, APPLIED), _apply, MarketplaceUnavailable),
    (cut_short, _apply, MarketplaceUnavailable),
    (hang_up, _apply, MarketplaceUnavailable),
    (answer(200, {"detail": "ok"}), _apply, MarketplaceUnavailable),
    (answer(200, {"applied": "true"}), _apply, MarketplaceUnavailable),
    (answer(200, {"title": "half a subject"}), _facts, MarketplaceUnavailable),
], ids=["301-post", "308-get", "200-html-post", "200-html-get", "404-html", "404-json-get",
        "404-json-post", "422-json", "429", "400-not-ours", "500", "503-html", "slow", "cut-short",
        "hang-up", "no-applied", "applied-string", "facts-missing-fields"])
def test_answers_are_classified(server: ScriptedMarketplace, script: Answer,
                                call: Callable[[HttpMarketplace], Any],
                                expected: type[Exception]) -> None:
    server.answers = [script]
    with pytest.raises(expected) as raised:
        call(HttpMarketplace(server.url, timeout=0.3))
    assert "\n" not in str(raised.value)
    assert [path for _, path, _ in server.seen] in (["/api/actions"],
                                                    ["/api/subjects/listing/L-0001"])


def test_a_good_answer_is_applied_and_an_explicit_false_is_no_second_application(
        server: ScriptedMarketplace) -> None:
    server.answers = [APPLIED, answer(200, {"applied": False, "detail": "already applied"})]
    m = HttpMarketplace(server.url, token="t0k", timeout=1)
    first, second = _apply(m), _apply(m)
    assert (first.applied, first.detail) == (True, "removed")
    assert (second.applied, second.detail) == (False, "already applied")
    _, _, headers = server.seen[0]
    assert headers["Authorization"] == "Bearer t0k"


def test_the_activity_retries_ambiguity_with_the_same_key_and_stops_on_a_refusal(
        server: ScriptedMarketplace, settings: Settings) -> None:
    http = dataclasses.replace(settings, marketplace="http", marketplace_url=server.url,
                               marketplace_timeout_s=0.3)
    activities = worker_module.build_activities(http)
    req = ApplyRequest(case_id="c-1", subject=LISTING, action=Action.REMOVE,
                       idempotency_key=KEY, reason="replica")
    env = ActivityEnvironment()
    server.answers = [OWNER, slow(1.0, APPLIED), OWNER, APPLIED,
                      OWNER, answer(422, {"error": "invalid", "detail": "wrong target"})]

    with pytest.raises(ApplicationError) as ambiguous:
        env.run(activities.apply_action, req)
    assert (ambiguous.value.type, ambiguous.value.non_retryable) == ("MarketplaceUnavailable",
                                                                     False)
    assert env.run(activities.apply_action, req).applied  # Temporal's retry, same request
    with pytest.raises(ApplicationError) as refused:
        env.run(activities.apply_action, req)
    assert (refused.value.type, refused.value.non_retryable) == ("ActionRefused", True)
    assert "wrong target" in refused.value.message

    posted = [headers["Idempotency-Key"] for method, _, headers in server.seen
              if method == "POST"]
    assert posted == [KEY, KEY, KEY]


def test_screening_a_subject_the_marketplace_refuses_to_describe_still_queues_it(
        server: ScriptedMarketplace, settings: Settings) -> None:
    http = dataclasses.replace(settings, marketplace="http", marketplace_url=server.url)
    activities = worker_module.build_activities(http)
    report = Report(report_id="r-1", source=Source.USER_REPORT, reporter="buyer-1",
                    received_at=datetime.now(UTC))
    server.answers = [answer(422, {"error": "invalid", "detail": "listing is under legal hold"}),
                      answer(500, HTML, "text/html")]
    screening = ActivityEnvironment().run(activities.screen_case,
                                          ScreenRequest(subject=LISTING, reports=[report]))
    assert not screening.subject_found and "legal hold" in screening.facts_missing
    assert (screening.hits, screening.queue) == ([], "general")
    with pytest.raises(ApplicationError) as ambiguous:  # a server error is retried instead
        ActivityEnvironment().run(activities.screen_case,
                                  ScreenRequest(subject=LISTING, reports=[report]))
    assert not ambiguous.value.non_retryable


def test_a_shops_listings_are_paged_and_a_bad_page_is_retried(
        server: ScriptedMarketplace) -> None:
    facts = {"kind": "listing", "id": "L-0001", "title": "Mug", "seller_id": "U-01",
             "shop_id": "S/1", "created_on": "2026-01-05", "status": "active"}
    server.answers = [answer(200, {"listings": [facts], "next_after": "L-0001"}),
                      answer(200, {"listings": []}),
                      answer(200, HTML, "text/html"),
                      answer(404, {"error": "not_found", "detail": "no shop S/1"})]
    m = HttpMarketplace(server.url, timeout=1)
    first = m.shop_listings("S/1", None, 1)
    assert ([f.id for f in first.listings], first.next_after) == (["L-0001"], "L-0001")
    assert m.shop_listings("S/1", "L-0001", 1).next_after is None
    with pytest.raises(MarketplaceUnavailable):
        m.shop_listings("S/1", None, 1)
    with pytest.raises(SubjectNotFound):
        m.shop_listings("S/1", None, 1)
    assert [path for _, path, _ in server.seen][:2] == [
        "/api/shops/S%2F1/listings?limit=1", "/api/shops/S%2F1/listings?limit=1&after=L-0001"]


def _raw(status: int, data: bytes, content_type: str) -> Answer:
    def send(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
    return send


def test_an_image_is_taken_as_itself_and_anything_else_is_unreadable(
        server: ScriptedMarketplace) -> None:
    """A photo is a PNG, JPEG, WebP or GIF of at most 5 MB: an SVG (its scripts would run in
    the console) or HTML is unreadable, as is a photo over the limit."""
    png = render("a3f1c9e2b7d04e18", "Mug", "home")
    server.answers = [_raw(200, png, "image/png"),
                      _raw(200, b'<svg onload="alert(1)"/>', "image/svg+xml"),
                      _raw(200, HTML.encode(), "text/html"),
                      _raw(200, b"\0" * (MAX_IMAGE + 1), "image/jpeg"),
                      answer(404, {"error": "not_found", "detail": "no image"})]
    m = HttpMarketplace(server.url, timeout=2)
    got = m.image("a3f1c9e2b7d04e18")
    assert (got.media_type, got.data) == ("image/png", png)
    for _ in range(3):
        with pytest.raises(MarketplaceUnavailable):
            m.image("a3f1c9e2b7d04e18")
    with pytest.raises(SubjectNotFound):
        m.image("a3f1c9e2b7d04e18")
    assert server.seen[0][1] == "/api/images/a3f1c9e2b7d04e18"
    assert server.seen[0][2]["Accept"] == "image/*"
    for not_a_hash in ("..", "a3f1c9e2b7d04e18/../x", "A" * 20):  # never sent
        with pytest.raises(SubjectNotFound):
            m.image(not_a_hash)
    assert len(server.seen) == 5


def test_a_photo_trickled_byte_by_byte_is_cut_off(server: ScriptedMarketplace) -> None:
    """Each wait for data is short, but the whole photo must come within the timeout."""
    def trickle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "image/png")
        h.send_header("Content-Length", "100")
        h.end_headers()
        for _ in range(100):
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.05)
    server.answers = [trickle]
    started = time.monotonic()
    with pytest.raises(MarketplaceUnavailable, match="took over"):
        HttpMarketplace(server.url, timeout=1).image("a3f1c9e2b7d04e18")
    assert time.monotonic() - started < 2


def test_a_marketplace_without_an_http_url_is_refused_at_once() -> None:
    for url in ("", "file:///etc/passwd", "ftp://m.example"):
        with pytest.raises(ValueError, match="CASEWORK_MARKETPLACE_URL"):
            HttpMarketplace(url)
