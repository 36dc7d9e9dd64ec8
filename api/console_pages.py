"""What every console page shares: the templates and their filters (autoescaped: report texts
come from the public), the navigation a person may follow, where a record's page is, and the
figures read once for all sessions."""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from api.roles import ESCALATION_READERS, OPS_READERS, has, reads_queue
from client.casework import CaseworkClient
from client.credentials import Session
from domain.appeal.models import APPEALS_QUEUE
from domain.authority import APPROVERS
from domain.people import Person
from domain.takedown.models import TAKEDOWN_QUEUE as TAKEDOWNS

T = TypeVar("T")
HERE = Path(__file__).parent
GRAPHIC = {"STATEMENT_CATEGORY_PROTECTION_OF_MINORS", "STATEMENT_CATEGORY_VIOLENCE",
           "STATEMENT_CATEGORY_ANIMAL_WELFARE", "STATEMENT_CATEGORY_SELF_HARM"}
HEAD_ROWS, PAGE_ROWS = 10, 50  # rows per queue on the home page; on a queue's own page
EXPORT_ROWS = 10_000  # a queue's CSV
MAX_OFFSET = 1_000_000  # as the API's
COUNTS_TTL_S = 2.0  # how stale the open and breached counts may be
STUCK_TTL_S = 30.0  # how stale the ops home's stuck count may be
JOB_LINKS = {"appeal": "appeals", "takedown": "takedowns", "escalation": "escalations",
             "shop_review": "shop-reviews", "qa": "qa"}

templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.auto_reload = False  # templates ship with the package: no stat per page
templates.env.globals["links"] = JOB_LINKS
templates.env.filters["human"] = lambda state: str(state).replace("_", " ")  # in_review: in review


def nav(person: Person) -> list[tuple[str, str]]:
    """The pages beyond "My queues" this person may open."""
    return [(href, label) for href, label, ok in (
        ("/inbox", "Inbox", True),
        ("/appeals", "Appeals", reads_queue(person, APPEALS_QUEUE)),
        ("/approvals", "Approvals", has(person, APPROVERS)),
        ("/jobs", "Jobs", reads_queue(person, TAKEDOWNS)),
        ("/escalations", "Escalations", has(person, ESCALATION_READERS)),
        ("/ops", "Ops", has(person, OPS_READERS))) if ok]


templates.env.globals["nav"] = nav


def highlight(text: str, evidence: list[str]) -> Markup:
    """`text` escaped, with the evidence words marked wherever they occur, in any case (one pass
    over the raw text: a word never matches inside markup or an escape already made)."""
    words = sorted({w for w in evidence if w.strip()}, key=len, reverse=True)
    if not words:
        return escape(text)
    found = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    out, at = [], 0
    for m in found.finditer(text):
        out += [escape(text[at:m.start()]), Markup("<mark>%s</mark>") % m.group()]
        at = m.end()
    return Markup("").join([*out, escape(text[at:])])


templates.env.filters["highlight"] = highlight


def media_key(s: Session, image_hash: str) -> str:
    """A photo's key for one session: signed with the session's own secret, so a photo loads
    only for a person a page showed it to (nobody fetches arbitrary hashes through casework)."""
    return hmac.new(s.csrf.encode(), f"media:{image_hash}".encode(), "sha256").hexdigest()[:32]


templates.env.globals["media_key"] = media_key


class Recent:
    """A figure read at most once every `ttl_s` for all the sessions of this process (the open
    and breached counts per queue: a GROUP BY over every open row, the same for everyone)."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s, self.at, self.value = ttl_s, float("-inf"), None

    async def get(self, read: Callable[[], Awaitable[T]]) -> T:
        if time.monotonic() - self.at > self.ttl_s:
            self.value, self.at = await read(), time.monotonic()
        return self.value  # type: ignore[return-value]


def opens(record: Any) -> str:
    """The page of what a claim took (an appeal's own page for an appeal)."""
    return f"/{JOB_LINKS.get(record.lifecycle, 'cases')}/{record.case_id}"


def claimable(cw: CaseworkClient, person: Person) -> list[str]:
    """The queues whose next case `person` claims: the ones they work and may read (appeals
    for the appeals team), but not takedowns (jobs are approved, not claimed)."""
    return [q for q in cw.pack().queues
            if q != TAKEDOWNS and person.works(q) and reads_queue(person, q)]



def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)
