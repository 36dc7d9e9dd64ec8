"""The console's review-case pages: claiming the most urgent case, the case page with all a
decision needs (the subject, its policies' text, the seller's and shop's history and open
cases), deciding and the case's other commands, and search with its CSV export."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from api.console_commands import CASE_COMMANDS, may_approve, run
from api.console_pages import EXPORT_ROWS, GRAPHIC, claimable, media_key, opens, page
from api.console_session import Signed, csrf_ok
from api.deps import csv_response
from api.roles import ESCALATION_READERS, has, readable_queues, reads_queue
from api.routes.cases import may_open
from client.casework import CaseworkClient
from domain.appeal.lifecycle import APPEAL
from domain.core import Action, QueueEntry
from domain.errors import EmptyQueue, InvalidInput, NotFound, Unavailable
from domain.escalation.models import QUEUE as ESCALATIONS
from domain.lifecycles import OPEN_WORK
from domain.people import Person
from domain.review.lifecycle import REVIEW
from domain.review.models import CaseState, photos
from domain.text import IMAGE_HASH

HISTORY = 50  # the seller's and shop's other records on a case page
INBOX = 100  # notes an inbox shows
FOUND, MAX_QUERY = 50, 200  # rows a search page shows (its CSV: EXPORT_ROWS); characters read


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.post("/claim-next")
    async def claim_most_urgent(request: Request, s: Signed,
                                csrf: Annotated[str, Form()] = "") -> Response:
        """The most urgent unclaimed case across the queues one works (`c` on the home page)."""
        csrf_ok(s, csrf)
        cw: CaseworkClient = request.app.state.cw
        heads = await cw.queue_heads(claimable(cw, s.person), 1,
                                     states=tuple(REVIEW.queued | APPEAL.queued))
        for entry in sorted((e for rows in heads.values() for e in rows),
                            key=lambda e: e.urgency):
            with contextlib.suppress(EmptyQueue):
                return RedirectResponse(opens(await cw.claim_next(entry.queue, s.person.id)),
                                        status_code=303)
        return RedirectResponse("/?empty=your+queues", status_code=303)

    @r.get("/cases/{case_id}")
    async def case_page(request: Request, case_id: str, s: Signed) -> HTMLResponse:
        cw: CaseworkClient = request.app.state.cw
        row = await cw.row(case_id)
        if row is None or row.lifecycle != "review" or not reads_queue(s.person, row.queue):
            raise NotFound(f"No review case {case_id} that you may open (or not yet screened).")
        await may_open(cw, s.person.id, row)
        case = await cw.show(case_id)
        pack = cw.pack()
        return page(request, "case.html", s=s, **await about_case(cw, case, s.person),
                     policies=pack.policies, by_id=pack.by_id,
                     suggested=case.hits[0].policy_id if case.hits else "",
                     actions=[a for a in Action if a is not Action.NO_ACTION
                              and a.why_not_on(case.subject.kind) is None],
                     mine=case.assignee == s.person.id,
                     notable=REVIEW.sources("note"),
                     reads_escalations=has(s.person, ESCALATION_READERS),
                     approver=may_approve(s, case))

    @r.post("/cases/{case_id}/decide")
    async def decide(request: Request, case_id: str, s: Signed,
                     csrf: Annotated[str, Form()] = "", policy: Annotated[str, Form()] = "",
                     reason: Annotated[str, Form()] = "",
                     actions: Annotated[list[str] | None, Form()] = None,
                     actions_for: Annotated[str, Form()] = "") -> Response:
        """The policy, the actions ticked for it and the reason. Ticks made for another policy
        (the page's first, when no script followed the change) give way to the chosen
        policy's defaults; a policy with nothing ticked is refused."""
        csrf_ok(s, csrf)
        cw: CaseworkClient = request.app.state.cw
        if policy == "none":
            actions = ["no_action"]
        elif actions_for != policy:
            actions = [a.value for a in cw.pack().get(policy).default_actions]
        elif not actions:
            raise InvalidInput("tick the actions the decision takes, or choose 0 · No "
                               "violation")
        decided = await cw.decide(case_id, s.person.id, [] if policy == "none" else [policy],
                                  actions, reason)
        try:  # decide and next, in the queue the decision's answer names
            nxt = await cw.claim_next(decided.queue, s.person.id)
        except EmptyQueue:  # home says so, with the queues that still have work
            return RedirectResponse(f"/?empty={decided.queue}&decided={case_id}",
                                    status_code=303)
        return RedirectResponse(f"/cases/{nxt.case_id}", status_code=303)

    @r.post("/cases/{case_id}/{command}")
    async def case_command(request: Request, case_id: str, command: str, s: Signed,
                           csrf: Annotated[str, Form()] = "", text: Annotated[str, Form()] = "",
                           choice: Annotated[str, Form()] = "P1") -> Response:
        """Claim, hold, resume, escalate and approve from the case page."""
        csrf_ok(s, csrf)
        done = await run(CASE_COMMANDS, "case", command, request.app.state.cw, case_id,
                          s.person.id, text, choice)
        if command == "release":  # not theirs any more: back to their queues
            return RedirectResponse("/", status_code=303)
        if command == "escalate" and has(s.person, ESCALATION_READERS):
            return RedirectResponse(f"/escalations/{done.escalation_id}", status_code=303)
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    @r.get("/media/{image_hash}")
    async def media(request: Request, image_hash: str, s: Signed, k: str = "") -> Response:
        """A listing's photo that a page showed this session (`k`, its key), fetched by
        casework from the marketplace: pages load nothing from elsewhere, and the marketplace
        never sees a reviewer's browser. Kept by the browser for 10 minutes."""
        if not IMAGE_HASH.fullmatch(image_hash) or not hmac.compare_digest(
                k.encode(), media_key(s, image_hash).encode()):
            raise NotFound(f"No photo {image_hash[:80]} shown to you.")
        got = await request.app.state.cw.image(image_hash)
        return Response(got.data, media_type=got.media_type,
                        headers={"cache-control": "private, max-age=600"})

    @r.get("/inbox")
    async def inbox(request: Request, s: Signed) -> HTMLResponse:
        """Notes that name me (`@id`), on records I may open, the newest first."""
        cw: CaseworkClient = request.app.state.cw
        readable = readable_queues(s.person, (*cw.pack().queues, ESCALATIONS))
        notes = await cw.mentions(s.person.id, readable, INBOX) if readable else []
        return page(request, "inbox.html", s=s, notes=notes)

    @r.get("/search")
    async def search(request: Request, s: Signed, q: str = "", format: str = "html"
                     ) -> Response:
        """Records of the queues one may read, by subject, seller or shop id, or a word of
        their title, description or reports; `format=csv` downloads them."""
        cw: CaseworkClient = request.app.state.cw
        queues = readable_queues(s.person, cw.pack().queues)
        csv_wanted = format == "csv"
        found = await cw.search(q[:MAX_QUERY], queues, EXPORT_ROWS if csv_wanted else FOUND + 1
                                ) if q.strip() else []
        if csv_wanted:
            return as_csv(found, "search")
        return page(request, "search.html", s=s, q=q, rows=found[:FOUND],
                    more=len(found) > FOUND)

    return r


async def about_case(cw: CaseworkClient, case: CaseState | str, person: Person
                     ) -> dict[str, Any]:
    """What `subject.html` shows of a review case, wherever it is decided (its own page, its
    appeal's, its escalation's): the subject with the evidence marked (graphic images
    blurred), the cited policies' text and law, the seller's strikes, and the other records
    about the seller, the shop or the same photos in the queues `person` reads (each with what
    joins it to this one). Nothing when the case cannot be asked (the page says so)."""
    if isinstance(case, str):  # an appeal's or an escalation's case, asked now
        try:
            case = await cw.show(case)
        except (NotFound, Unavailable):
            return {}
    by_id = cw.pack().by_id
    cited = {h.policy_id for h in case.hits} | set(case.decision.policy_ids
                                                   if case.decision else ())
    f = case.facts
    readable = readable_queues(person, cw.pack().queues)
    others, (strikes, struck) = await asyncio.gather(
        cw.about(f.seller_id if f else None, f.shop_id if f else None, readable, HISTORY,
                 photos(f.image_hashes) if f else ()),
        cw.strikes(f.seller_id, readable) if f else asyncio.sleep(0, (0, [])))
    others = [e for e in others if e.case_uid != case.case_uid]
    why = {e.case_uid: "same seller" if f and e.seller_id == f.seller_id else
           "same shop" if f and f.shop_id and e.shop_id == f.shop_id else "same photo"
           for e in others}
    return {"case": case,
            "graphic": any(by_id[p].category in GRAPHIC for p in cited if p in by_id),
            "evidence": [w.strip() for h in case.hits
                         for w in h.evidence.split(":", 1)[-1].split(",")],
            "cited": [by_id[p] for p in sorted(cited) if p in by_id],
            "strikes": strikes, "struck": struck, "strike_rule": cw.pack().shop_reviews,
            "why": why, "photos": photos(f.image_hashes) if f else [],
            "open_cases": [e for e in others if e.state in OPEN_WORK],
            "history": [e for e in others if e.state not in OPEN_WORK]}


def as_csv(entries: list[QueueEntry], name: str) -> Response:
    return csv_response(["record", "kind", "subject", "title", "seller", "shop", "queue",
                         "priority", "state", "assignee", "sla_deadline", "opened_at"],
                        [[e.case_id, e.lifecycle, str(e.subject), e.title, e.seller_id,
                          e.shop_id, e.queue, e.priority.value, e.state, e.assignee,
                          e.sla_deadline.isoformat() if e.sla_deadline else "",
                          e.opened_at.isoformat()] for e in entries], name)
