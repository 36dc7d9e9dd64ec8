"""`casework`: the command line for people, services and administrators.

People sign in (`casework login`, or `CASEWORK_TOKEN`) and every command of theirs goes through
casework's HTTP API as themselves, like `gh` or `kubectl`; a service's token files reports,
appeals and escalations the same way. Administrative commands (the directory, tokens, the
ledger, the sandbox, casework's servers) work directly on this machine (`make run`'s local
set-up) and say so in their help.

Every command takes `--json`. Errors print one line on stderr and exit non-zero:
2 invalid input, 3 refused (or not signed in), 4 not found, 5 empty queue, 6 unavailable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from cli import datasets, local, remote, setup
from cli.show import emit, safe
from cli.table import arguments as table_arguments
from cli.table import commands as table_commands
from domain import errors
from domain.core import SubjectKind
from domain.escalation.models import EscalationSource
from domain.people import Role
from domain.reports import Section

EXIT_CODES: dict[type[errors.CaseworkError], int] = {
    errors.InvalidInput: 2, errors.Refused: 3, errors.NotFound: 4, errors.EmptyQueue: 5,
    errors.Unavailable: 6,
}
DIRECT = " (direct: this machine's ledger and Temporal)"
Arg = tuple[tuple[str, ...], dict[str, Any]]


def arg(*flags: str, **options: Any) -> Arg:
    return flags, options


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


REASON = arg("--reason", required=True)
POLICY = arg("--policy", nargs="+", help="policy ids from the pack")
LEASE = arg("--lease-minutes", type=int, default=30)
SEVERITY = arg("--severity", default="P1", help="P0|P1|P2|P3")

# group -> (help, {command: (help, arguments)}); every one of these goes through the API
SIGNED_IN: dict[str, tuple[str, dict[str, tuple[str, list[Arg]]]]] = {
    "case": ("one case", {
        "open": ("file a report: open a case, or join the subject's open case", [
            arg("--subject", required=True, help="KIND:ID, e.g. listing:L-0042"),
            arg("--source", required=True, help="user_report|trusted_flagger|rights_owner|"
                "law_enforcement|classifier (a service's token) or internal (a person's)"),
            arg("--reporter"), arg("--text"), arg("--policy-hint"),
            arg("--model", help="classifier: the model that flagged it"),
            arg("--model-version", help="classifier: its version"),
            arg("--score", type=float, help="classifier: its score, 0..1")]),
        "show": ("the case as it is now", [arg("case_id")]),
        "timeline": ("who did what, when, why", [arg("case_id")]),
        "claim": ("claim this case", [arg("case_id"), LEASE]),
        "escalate": ("take a case you hold to an escalation owner", [
            arg("case_id"), REASON, SEVERITY]),
    }),
    "queue": ("queues", {
        "list": ("open work of the queues you read, most urgent first", [
            arg("queue", nargs="?"), arg("--limit", type=positive, default=50)]),
        "claim": ("claim the most urgent unassigned case of a queue", [arg("queue"), LEASE]),
    }),
    "appeal": ("complaints against decisions (DSA Art. 20)", {
        "file": ("file an appellant's complaint against a case's decision (a service)", [
            arg("case_id"), arg("--text", help="the appellant's explanation"),
            arg("--appellant", help="a reporter's id, or the seller's (the default)")]),
        "show": ("an appeal as it is now", [arg("appeal_id")]),
        "claim": ("claim this appeal (not the decision's decider or approver)",
                  [arg("appeal_id"), LEASE]),
        "decide": ("decide an appeal you hold", [
            arg("appeal_id"), arg("--outcome", required=True, help="upheld|overturned|modified"),
            arg("--action", nargs="+", help="modified: the lesser actions; overturned "
                "no_action: the actions that should have applied"), POLICY, REASON]),
    }),
    "escalation": ("sensitive escalations", {
        "open": ("open an escalation (once per subject, source and request)", [
            arg("--subject", required=True, help="KIND:ID, e.g. seller:U-0042"),
            arg("--source", required=True, help="|".join(
                s.value for s in EscalationSource if not s.from_a_case)),
            REASON, arg("--severity", required=True,
                        help="P0|P1|P2|P3 (P0 pages the on-call owner)"),
            arg("--owner", help="assign an owner (default: whoever acknowledges it)")]),
        "show": ("the escalation as it is now", [arg("escalation_id")]),
    }),
    "takedown": ("bulk takedowns and authority orders (seniors and leads)", {
        "bulk": ("one action on the subjects of a file (KIND:ID lines)", [
            arg("--file", required=True), arg("--action", required=True), POLICY, REASON]),
        "order": ("an authority's order (DSA Art. 9); an authority the pack does not list "
                  "waits for a second person", [
            *(arg(flag, required=True) for flag in ("--authority", "--reference", "--file",
                                                   "--action", "--legal-ground",
                                                   "--deadline")), POLICY]),
        "status": ("a job's progress (--items: each item's outcome)", [
            arg("job_id"), arg("--watch", action="store_true", help="a live progress bar"),
            arg("--items", action="store_true")]),
    }),
    "shop": ("shop-level reviews", {
        "review": ("screen every listing of a shop for one decision (ops)", [
            arg("shop_id"), arg("--reason")]),
        "status": ("a shop review's progress, findings and history", [
            arg("review_id"), arg("--watch", action="store_true", help="follow the screening")]),
    }),
    "qa": ("blind second reviews of decisions (QA reviewers and seniors)", {
        "list": ("checks waiting for a verdict or an adjudication, the most urgent first",
                 [arg("--limit", type=positive, default=50)]),
        "show": ("a check: blind (no first verdict or decider) until the QA verdict is in",
                 [arg("qa_id")]),
    }),
    "report": ("productivity and quality against the pack's targets: your own figures "
               "(leads, seniors and admins: everyone's)", {
        kind: (f"{kind} per reviewer, queue, policy and week", [
            arg("--since", help="YYYY-MM-DD or an ISO time (default: 28 days before --until)"),
            arg("--until", help="YYYY-MM-DD or an ISO time (default: now)"),
            arg("--queue"), arg("--reviewer"),
            arg("--csv", action="store_true", help="one section as CSV"),
            arg("--section", choices=[s.value for s in Section], default="reviewers",
                help="with --csv: which section")])
        for kind in ("productivity", "quality")}),
    "calibration": ("calibration (golden) cases: known answers mixed into queues, scored", {
        "load": ("load a set from a file of JSON lines, whole or nothing (leads, admins)", [
            arg("file"), arg("--set", dest="set_id", help="the set's name (default: the "
                                                          "file's name)")]),
        "list": ("the sets: items, copies given, answered, correct (leads, seniors, admins)",
                 []),
        "results": ("each answered calibration case (reviewers: their own)", [
            arg("--set", dest="set_id"), arg("--reviewer")]),
    }),
    "dataset": ("validation sets of final labels for the model team (leads and admins)", {
        "export": ("write a set: Parquet, JSON lines, manifest.json and DATASHEET.md", [
            arg("--policy", nargs="+", required=True, help="policy ids from the pack"),
            arg("--since", help="YYYY-MM-DD or an ISO time (default: the first decision)"),
            arg("--until", help="YYYY-MM-DD or an ISO time (default: the start of today, UTC)"),
            arg("--size", type=positive, help="rows to sample (default: all)"),
            arg("--stratify", help="policy,label: sample in proportion to these strata"),
            arg("--split", default="validation=0.2",
                help="NAME=SHARE[,NAME=SHARE]: shares summing below 1; train takes the rest "
                "('': every row in train)"),
            arg("--seed", type=int, default=0, help="the same query and seed: the same rows"),
            arg("--include-provisional", action="store_true",
                help="also decisions whose appeal window, appeal or QA check is open"),
            arg("--out", required=True, help="a new (or empty) folder")]),
        "evaluate": ("judge a model's scores (JSON lines: id, score) against a set written "
                     "before (on this machine)", [
            arg("dir"), arg("--scores", required=True),
            arg("--threshold", type=float, help="decide at this score (default 0.5)"),
            arg("--at-precision", type=float,
                help="decide at the lowest threshold reaching this precision")]),
    }),
    "trends": ("abuse trends: volumes against their baseline, spikes escalated (leads, "
               "admins, ops)", {
        "scan": ("scan now: the window ending now against the same hours of the weeks before",
                 [arg("--window", help="e.g. 30m, 1h (default: the pack's)")]),
        "schedule": ("make or update the Schedule that scans (leads, admins)", [
            arg("--every", help="e.g. 1h (default: the pack's)")]),
        "show": ("cases opened per policy and day, the spikes found, the Schedule", []),
    }),
    "ops": ("find, explain and repair stuck records", {
        "stuck": ("stuck records of every lifecycle, why, and the repair", [
            arg("--kind", help="only this kind (e.g. needs_attention, task_failing)")]),
        "backlog": ("per queue: open by state, oldest, breached, 24 h SLA", [
            arg("--watch", action="store_true", help="refresh until Ctrl-C"),
            arg("--every", type=positive, default=5, help="seconds between refreshes")]),
        "workers": ("who polls casework's task queue (exit 6: nobody)", []),
        "explain": ("one record: state, waits, activities, recent events", [arg("case_id")]),
        **{name: (f"{name} a record (or a batch: --query, --all-stuck)", [
            arg("case_id", nargs="?"), REASON,
            arg("--query", help="a visibility query (within casework's task queue)"),
            arg("--all-stuck", action="store_true", help="every stuck record"),
            arg("--kind", help="with --all-stuck: only this kind"),
            arg("--yes", action="store_true", help="act (a batch is a dry run without)"),
            arg("--to", help="reassign: the person who takes the claim"),
            arg("--priority", help="bump: to this priority (default: one step up)"),
            arg("--severity", default="P1", help="escalate: the escalation's severity"),
            arg("--to-event", type=positive,
                help="reset: to this completed workflow task (default: the last one)")])
           for name in ("reassign", "release", "bump", "retry", "escalate", "cancel",
                        "reset")},
    }),
    "statements": ("statements of reasons", {
        "export": ("write them as JSON lines", [arg("--out")]),
    }),
}

# commands that are more than one call
MULTI: dict[str, Callable[[argparse.Namespace, Any], Awaitable[None]]] = {
    "queue list": remote.queue_list, "takedown status": remote.takedown_status,
    "ops workers": remote.ops_workers,
    "shop status": remote.shop_watch, "ops backlog": remote.ops_backlog,
    "statements export": remote.statements_export,
    "report productivity": remote.report, "report quality": remote.report,
    "dataset export": datasets.dataset_export, "dataset evaluate": datasets.dataset_evaluate,
    **{f"ops {r}": remote.ops_repair for r in ("reassign", "release", "bump", "retry",
                                               "escalate", "cancel", "reset")},
}

DIRECT_COMMANDS: dict[str, tuple[str, dict[str, tuple[Any, str, list[Arg]]]]] = {
    "reviewer": ("the directory of people and their roles" + DIRECT, {
        "list": (local.reviewer_list, "everyone in the directory, disabled people too", []),
        "add": (local.reviewer_add, "add a person, or update one (and make them active)", [
            arg("person_id", metavar="ID"), arg("--name", required=True),
            arg("--role", action="append", required=True,
                help=f"{'|'.join(Role)} (repeat for more)"),
            arg("--queue", action="append",
                help="a queue they work, '*' for every queue (repeat for more)")]),
        "disable": (local.reviewer_disable, "stop a person acting; their sessions and tokens "
                    "end (their record stays)", [arg("person_id", metavar="ID")]),
        "password": (local.reviewer_password, "set a person's password, read from stdin (at "
                     "least 12 characters)", [arg("person_id", metavar="ID")]),
    }),
    "token": ("API tokens" + DIRECT, {
        "create": (local.token_create, "a token for a person (acts as them) or a service", [
            arg("owner", metavar="ID"),
            arg("--scope", action="append", help="a service's scope: read, intake, "
                "intake:<source>, appeal, escalate (repeat for more)"),
            arg("--days", type=int,
                help="how long the token is valid (default 90; 0: until revoked)")]),
        "list": (local.token_list, "tokens by id and owner (never their secrets)",
                 [arg("--owner", metavar="ID")]),
        "revoke": (local.token_revoke, "revoke a token by its id", [arg("token_id")]),
    }),
    "ledger": ("the case ledger" + DIRECT, {
        "rebuild": (local.ledger_rebuild, "write the queue, audit and statements again from the "
                    "workflows", [arg("--fresh", action="store_true",
                                      help="empty the derived tables first (stop the workers "
                                      "for it)")]),
    }),
    "policy": ("the policy pack" + DIRECT, {
        "list": (local.policy_list, "policies of the pack", []),
    }),
    "sandbox": ("the sandbox marketplace" + DIRECT, {
        "list": (local.sandbox_list, "subjects and their status", [
            arg("--kind", choices=[k.value for k in SubjectKind]),
            arg("--limit", type=positive, default=1000),
            arg("--shop", help="only this shop's listings"),
            arg("--ids", action="store_true", help="KIND:ID lines, for a takedown's --file")]),
        "show": (local.sandbox_show, "one subject", [arg("subject")]),
        "load": (local.sandbox_load, "load the demo data", []),
        "fail": (local.sandbox_fail, "drill: make a marketplace operation fail on purpose", [
            arg("operation", help="facts|apply_action|seller_contact"),
            arg("--mode", default="error", help="error|timeout|garbage|refuse"),
            arg("--for", dest="for_s", type=float, metavar="SECONDS",
                help="wall-clock seconds (default: until healed)")]),
        "heal": (local.sandbox_heal, "end drills (all, or one operation's)",
                 [arg("operation", nargs="?")]),
        "wave": (local.sandbox_wave, "drill: linked new sellers list violating items, each "
                 "reported now (a spike for `trends scan`)", [
                     arg("--sellers", type=positive, default=5),
                     arg("--listings", type=positive, default=50),
                     arg("--policy", default="counterfeit", help="a policy id of the pack")]),
    }),
}


def build_parser() -> argparse.ArgumentParser:
    base = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: an option given before the subcommand is not reset by the subcommand's parser.
    base.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                      help="machine-readable output")
    common = argparse.ArgumentParser(add_help=False, parents=[base])
    common.add_argument("--address", default=argparse.SUPPRESS,
                        help="direct commands: Temporal's address (default: TEMPORAL_ADDRESS, "
                        "else localhost:$CASEWORK_TEMPORAL_PORT, 7233 unset)")
    common.add_argument("--profile", default=argparse.SUPPRESS,
                        help="direct commands: Temporal environment-configuration profile")
    signed = argparse.ArgumentParser(add_help=False, parents=[base])
    signed.add_argument("--api", default=argparse.SUPPRESS,
                        help="casework's API (default: CASEWORK_API_URL, the one signed in "
                        "to, or http://127.0.0.1:8080)")
    signed.add_argument("--request-id", default=argparse.SUPPRESS,
                        help="the command's Idempotency-Key (default: one per invocation, "
                        "sent again on every retry)")

    p = argparse.ArgumentParser(prog="casework", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                parents=[base])
    sub = p.add_subparsers(dest="group", required=True)

    def command(group: Any, name: str, fn: Any, helptext: str, args: list[Arg],
                parent: argparse.ArgumentParser) -> None:
        sp = group.add_parser(name, help=helptext, parents=[parent])
        for flags, options in args:
            sp.add_argument(*flags, **options)
        sp.set_defaults(fn=fn)

    for group_name, (group_help, commands) in SIGNED_IN.items():
        group = sub.add_parser(group_name, help=group_help).add_subparsers(dest="cmd",
                                                                           required=True)
        for name, (helptext, args) in commands.items():
            key = f"{group_name} {name}"
            fn = (partial(MULTI[key], emit=emit) if key in MULTI
                  else remote.handler(remote.CALLS[key], emit))
            command(group, name, fn, helptext, args, signed)
        for name, spec in table_commands(group_name).items():
            command(group, name, remote.handler(remote.table_call(group_name, spec), emit),
                    spec.help, table_arguments(group_name, spec), signed)
    for group_name, (group_help, direct) in DIRECT_COMMANDS.items():
        group = sub.add_parser(group_name, help=group_help).add_subparsers(dest="cmd",
                                                                           required=True)
        for name, (fn, helptext, args) in direct.items():
            command(group, name, fn, helptext, args, common)

    for name, fn, helptext, args in (
            ("login", partial(remote.login, emit=emit), "sign in: your password for a token "
             "kept for you (--refresh: a new token for the one kept)", [
                 arg("--user", help="your id in the directory"),
                 arg("--refresh", action="store_true")]),
            ("logout", partial(remote.logout, emit=emit), "revoke the kept token and forget it",
             []),
            ("whoami", remote.handler(remote.CALLS["whoami"], emit), "who the API says you are",
             [])):
        command(sub, name, fn, helptext, args, signed)
    for name, fn, helptext, args in (
            ("worker", local.worker, "run a worker" + DIRECT, []),
            ("api", local.api_serve, "serve the HTTP API and the console" + DIRECT, [
                arg("--host", help="default: CASEWORK_API_HOST or 127.0.0.1"),
                arg("--port", type=positive, help="default: CASEWORK_API_PORT or 8080")]),
            ("codec-server", local.codec_server, "serve the codec endpoint the Temporal UI "
             "decrypts payloads through" + DIRECT, []),
            ("setup", setup.setup, "make a Temporal namespace ready for casework: check the "
             "connection, register casework's search attributes (direct: Temporal's "
             "environment configuration)", []),
            ("lifecycle", local.lifecycle, "the lifecycle declaration", [
                arg("machine", nargs="?", default="review", choices=sorted(local.lifecycles())),
                arg("--format", choices=["text", "mermaid"], default="text")])):
        command(sub, name, fn, helptext, args, common)
    return p


async def _run(args: argparse.Namespace) -> int:
    # Errors are turned into exit codes inside the loop, so nothing holding a Temporal client
    # outlives it (a client finalised at interpreter exit aborts the process).
    try:
        await args.fn(args)
    except errors.CaseworkError as e:
        print(f"casework: {type(e).__name__.lower()}: {safe(str(e))}", file=sys.stderr)
        return next((EXIT_CODES[k] for k in type(e).__mro__ if k in EXIT_CODES), 1)
    return 0


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for option, default in (("json", False), ("address", None), ("profile", None)):
        setattr(args, option, getattr(args, option, default))
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader left (`casework queue list | head`): not an error
        return 0


def main() -> None:
    """Console entry point. Leaves with `os._exit`: the Temporal client's native runtime can
    abort the interpreter while it finalises (seen as SIGABRT after a finished command)."""
    code = run()
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
