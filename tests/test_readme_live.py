"""The docs, run: every `casework …` command of README.md's and docs/*.md's shell blocks, in
document order, through the real `casework` process against a live stack.

The stack is `python -m stack.run` (what `make run` runs) on free ports with a throwaway data
folder: its dev server, worker, sandbox, API, demo people and demo cases. The commands run as a
reader in another terminal runs them: with the `export` line `make run`'s banner prints (no
TEMPORAL_ADDRESS: direct commands find Temporal by CASEWORK_TEMPORAL_PORT), signed in by
`casework login --user X` with the demo password on stdin, ids filled in from what earlier
commands printed. Each exits 0 unless listed below with the reason; a sequence that cannot succeed
as written is fixed in the doc, not here.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from config.settings import ROOT
from ledger.store import Ledger
from tests.helpers import DocCommand, doc_commands, free_port

CASEWORK = str(Path(sys.executable).parent / "casework")
STEP_S = 90  # one command at most (a --watch lasts as long as its job)

# What a command prints that later lines name: (placeholder, where it is in the output).
PRINTS: dict[str, list[tuple[str, str]]] = {
    "token create": [("cw_…", r"\A(cw_\S+)"), ("TOKEN_ID", r"token id (\w+)")],
    # ID: docs/ops.md's record, the case the marketplace's report joined at the start of the
    # README (queued in `general`; nothing in the docs touches it before the runbook).
    "case open": [("CASE_ID", r"\A(\S+)"), ("ID", r"\A(\S+)")],
    "queue claim": [("CASE_ID", r"\A(\S+)")],
    "case escalate": [("ESC_ID", r"\A(\S+)")],
    "appeal file": [("APPEAL_ID", r"\A(\S+)")],
    "escalation open": [("ESC_ID", r"\A(esc-\S+)")],
    "takedown bulk": [("JOB_ID", r"\A(\S+)")],
    "takedown order": [("JOB_ID", r"\A(\S+)")],
}
# docs/ops.md's runbook names kinds of things, not an earlier answer's id.
FIXED = {"KIND": "needs_attention", "PERSON": "alice", "N": "1"}
# Files a reader writes before the command that reads them.
FILES = {"password.txt": "alices-new-password-2026\n",
         "gold.jsonl": json.dumps({
             "item_id": "gold-1", "queue": "fraud", "report": "too cheap",
             "subject": {"kind": "listing", "id": "L-G1", "title": "Games console, 25 EUR",
                         "price": 25, "seller_id": "U-G", "created_on": "2026-11-01"},
             "expected": {"policy_ids": ["price-scam"], "actions": ["remove"]},
             "explanation": "a new console at a tenth of its price"}) + "\n",
         "scores.jsonl": json.dumps({"id": "nobody", "score": 0.5}) + "\n"}
# A command that waits on what an earlier one set going, as a reader does: (probe, state).
WAITS = {"appeal file": ("casework case show CASE_ID --json", "appealable"),
         "appeal claim": ("casework appeal show APPEAL_ID --json", "queued")}

RUNBOOK = "docs/ops.md: ID is queued and nothing is stuck:"
# (doc, command as run before filling) -> (exit code, why: what the doc says)
EXPECTED: dict[tuple[str, str], tuple[int, str]] = {
    ("README.md", "casework report quality --since 2026-01-01 --until 2025-12-01"): (
        2, "the line says so: a period that ends before it starts"),
    ("README.md", "casework report quality --reviewer dana"): (
        3, "the line says so: a reviewer reads only their own figures"),
    ("README.md", "casework dataset export --policy counterfeit --size 100000 --out "
                  "demo-set-2"): (2, "the line says so: more rows than exist"),
    ("README.md", "casework dataset evaluate demo-set --scores scores.jsonl"): (
        2, "the line says so: the scores file names an id the set does not hold"),
    ("README.md", "casework trends scan --window 30s"): (
        2, "the line says so: a window shorter than a minute"),
    ("README.md", "casework appeal approve APPEAL_ID"): (
        3, "the line says so: a verdict that applies no severe action waits for nobody"),
    **{("README.md", f"casework takedown {c} JOB_ID"): (
        3, "pause|resume|cancel act while a job runs (the line says so); the watch before "
           "waited for its end") for c in ("pause", "resume", "cancel")},
    ("ops.md", "casework ops release ID --reason R"): (
        3, f"{RUNBOOK} 'cannot release a case in state queued' is the doc's own example"),
    ("ops.md", "casework ops retry ID --reason R"): (
        3, f"{RUNBOOK} a repair the record's state does not allow (exit 3)"),
    ("ops.md", "casework ops cancel ID --reason R"): (
        3, f"{RUNBOOK} the line before escalated it, and cancel ends a queued or claimed case"),
    ("ops.md", "casework ops reset ID --to-event N --reason R"): (
        3, f"{RUNBOOK} reset is refused unless the record's workflow task is failing"),
}
SKIPPED: dict[tuple[str, str], str] = {
    ("README.md", f"casework ops {r} CASE_ID --reason \"…\""):
        "README's synopsis of the seven repairs; docs/ops.md shows each with its arguments, "
        "and those run" for r in ("release", "reassign", "bump", "retry", "escalate", "cancel",
                                  "reset")}
# Refreshes until Ctrl-C: interrupted after its first screen, as a reader does (exit 130).
INTERRUPTED = {("README.md", "casework ops backlog --watch")}


@dataclass
class Stack:
    banner: str
    env: dict[str, str]  # a fresh terminal's, with the banner's exports
    data_dir: Path
    ports: dict[str, int]


@contextmanager
def make_run(tmp_path: Path) -> Iterator[Stack]:
    """`python -m stack.run` on free ports with a data folder of its own, until its banner."""
    ports = {name: free_port() for name in ("CASEWORK_TEMPORAL_PORT", "CASEWORK_UI_PORT",
                                            "CASEWORK_CODEC_PORT", "CASEWORK_API_PORT")}
    data_dir = tmp_path / "stack-data"
    fresh = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "TEMPORAL_"))}
    env = {**fresh, **{k: str(v) for k, v in ports.items()}, "CASEWORK_DATA_DIR": str(data_dir),
           "CASEWORK_METRICS_ADDRESS": "127.0.0.1:0"}
    log = tmp_path / "stack.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "stack.run"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        end = time.monotonic() + 180
        while "Ctrl-C stops everything." not in log.read_text():
            assert proc.poll() is None, f"make run ended early:\n{log.read_text()}"
            assert time.monotonic() < end, f"no banner in 180 s:\n{log.read_text()}"
            time.sleep(0.2)
        banner = log.read_text()
        [exports] = [line for line in banner.splitlines() if line.strip().startswith("export ")]
        shown = dict(w.split("=", 1) for w in shlex.split(exports)[1:])
        yield Stack(banner, {**fresh, **shown, "CASEWORK_CONFIG_DIR": str(tmp_path / "config")},
                    data_dir, ports)
    finally:
        stopped = _stop(proc, data_dir)
    assert stopped, "make run did not stop on Ctrl-C within 40 s"


def _stop(proc: subprocess.Popen, data_dir: Path) -> bool:
    """Ctrl-C, as a reader stops it; a stack that does not stop is killed with its dev server
    (found by its database file, which is this test's own). Whether Ctrl-C stopped it."""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=40)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        for pid in Path("/proc").iterdir():
            try:
                cmdline = (pid / "cmdline").read_bytes()
            except OSError:
                continue
            if str(data_dir / "temporal.db").encode() in cmdline:
                os.kill(int(pid.name), signal.SIGKILL)
        return False


@dataclass
class Reader:
    """A reader in another terminal: types each command, notes the ids it prints."""

    stack: Stack
    work: Path
    ids: dict[str, list[str]] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    transcript: list[str] = field(default_factory=list)
    met: set[tuple[str, str]] = field(default_factory=set)

    def fill(self, text: str) -> str:
        def one(m: re.Match[str]) -> str:
            name = m.group(0)
            if name in FIXED:
                return FIXED[name]
            assert self.ids.get(name), f"{name} before any command printed one:\n{self.log()}"
            return self.ids[name][-1]
        return re.sub(r"\b(CASE_ID|APPEAL_ID|ESC_ID|JOB_ID|TOKEN_ID|ID|KIND|PERSON|N)\b|cw_…",
                      one, text)

    def log(self) -> str:
        return "\n".join(self.transcript[-12:])

    def process(self, argv: list[str], env: dict[str, str], stdin: str | None = None,
                ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CASEWORK, *argv[1:]], env=env, cwd=self.work, input=stdin,
                              capture_output=True, text=True, timeout=STEP_S)

    def wait_for(self, group: str, env: dict[str, str]) -> None:
        if group not in WAITS:
            return
        probe, state = WAITS[group]
        end, seen = time.monotonic() + 60, None
        while time.monotonic() < end:
            proc = self.process(shlex.split(self.fill(probe)), env)
            seen = json.loads(proc.stdout)["state"] if proc.returncode == 0 else proc.stderr
            if seen == state:
                return
            time.sleep(0.5)
        raise AssertionError(f"`{probe}` never answered {state} (last: {seen})\n{self.log()}")

    def run(self, doc: DocCommand, variant: str) -> None:
        key = (doc.where, variant)
        if key in SKIPPED:
            self.met.add(key)
            return
        text = self.fill(variant)
        argv = shlex.split(text)
        group = " ".join(argv[1:3])
        env = {**self.stack.env, **{k: self.fill(v) for k, v in doc.env.items()}}
        stdin = (self.work / doc.stdin).read_text() if doc.stdin else None
        if argv[1] == "login" and "--user" in argv:
            stdin = self.passwords[argv[argv.index("--user") + 1]] + "\n"
        self.wait_for(group, env)
        started = time.monotonic()
        if key in INTERRUPTED:
            code, out, err = self.interrupted(argv, env), "", ""
            expected, why = 130, "interrupted"
        else:
            proc = self.process(argv, env, stdin)
            code, out, err = proc.returncode, proc.stdout, proc.stderr
            expected, why = EXPECTED.get(key, (0, ""))
        self.transcript.append(f"{doc.where}: $ {text}  -> {code} in "
                               f"{time.monotonic() - started:.1f}s {err.strip()[:200]}")
        assert code == expected, (f"{doc.where}: `{variant}` as `{text}` exited {code}, not "
                                  f"{expected} {why}\n{err}\n{self.log()}")
        if key in EXPECTED or key in INTERRUPTED:
            self.met.add(key)
        if doc.stdout:
            (self.work / doc.stdout).write_text(out)
        for name, pattern in PRINTS.get(group, []):
            found = re.search(pattern, out)
            assert found, f"`{text}` printed no {name}:\n{out}"
            self.ids.setdefault(name, []).append(found.group(1))
        if argv[1:3] == ["reviewer", "password"] and stdin:
            self.passwords[argv[3]] = stdin.rstrip("\n")

    def interrupted(self, argv: list[str], env: dict[str, str]) -> int:
        """Started, Ctrl-C once its first screen is out: its exit code."""
        out = self.work / "watch.out"
        with out.open("wb") as f:
            proc = subprocess.Popen([CASEWORK, *argv[1:]], env=env, cwd=self.work, stdout=f,
                                    stderr=subprocess.STDOUT)
        end = time.monotonic() + 30
        while not out.read_bytes() and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.1)
        assert proc.poll() is None and out.read_bytes(), f"no screen: {out.read_text()}"
        proc.send_signal(signal.SIGINT)
        return proc.wait(timeout=30)


def demo_passwords(data_dir: Path) -> dict[str, str]:
    lines = (data_dir / "demo-passwords.txt").read_text().splitlines()
    return dict(line.split(" ", 1) for line in lines if line.strip())


def test_every_documented_command_runs_in_order_on_a_live_stack(tmp_path: Path) -> None:
    work = tmp_path / "terminal"
    work.mkdir()
    for name, text in FILES.items():
        (work / name).write_text(text)
    started = time.monotonic()
    with make_run(tmp_path) as stack:
        booted = time.monotonic() - started
        check_the_banner(stack)
        reader = Reader(stack, work, passwords=demo_passwords(stack.data_dir))
        commands = doc_commands()
        for doc in commands:
            for variant in doc.variants:
                reader.run(doc, variant)
        listed = set(EXPECTED) | set(SKIPPED) | INTERRUPTED
        assert reader.met == listed, f"listed here, in no doc: {listed - reader.met}"
        check_the_appeal(reader)
        check_the_banners_temporal_line(reader)
    (tmp_path / "transcript.txt").write_text("\n".join(reader.transcript))
    print(f"\n{len(commands)} documented commands ({len(reader.transcript)} runs) in "
          f"{time.monotonic() - started:.0f} s, the stack up in {booted:.0f} s")


def check_the_banner(stack: Stack) -> None:
    """`make run` tells another terminal what to set: the ports and folder it did not default,
    where the passwords really are, and `temporal` with the real address."""
    port, api = stack.ports["CASEWORK_TEMPORAL_PORT"], stack.ports["CASEWORK_API_PORT"]
    assert stack.env["CASEWORK_TEMPORAL_PORT"] == str(port)
    assert stack.env["CASEWORK_API_URL"] == f"http://127.0.0.1:{api}"
    assert stack.env["CASEWORK_DATA_DIR"] == str(stack.data_dir.resolve())
    assert f"their passwords: {stack.data_dir.resolve()}/demo-passwords.txt" in stack.banner
    assert "data/demo-passwords.txt" not in stack.banner.replace(str(stack.data_dir.resolve()), "")
    assert f"workflow show --address localhost:{port} -w CASE_ID" in stack.banner
    # its metrics: casework's series and the Temporal SDK's, at the banner's address and the API's
    [metrics] = re.findall(r"metrics +(http://\S+/metrics) +\(Prometheus; the API's at "
                           r"(http://\S+/metrics)\)", stack.banner)
    for url in metrics:
        text = httpx.get(url, timeout=10).text
        assert "casework_cases_opened_total{" in text and "temporal_request_total{" in text, url


def check_the_appeal(reader: Reader) -> None:
    """DSA Art. 20: the README's `appeal decide … --reason "permit valid"` keeps its reason on
    the appeal, and the appellant's notice carries it."""
    appeal_id = reader.ids["APPEAL_ID"][-1]
    made = reader.process(["casework", "token", "create", "emeka", "--json"], reader.stack.env)
    emeka = {**reader.stack.env, "CASEWORK_TOKEN": json.loads(made.stdout)["token"]}
    shown = reader.process(["casework", "appeal", "show", appeal_id, "--json"], emeka)
    appeal = json.loads(shown.stdout)
    assert (appeal["state"], appeal["verdict"]["outcome"], appeal["verdict"]["reason"]) == (
        "closed", "overturned", "permit valid"), appeal
    with closing(Ledger(f"sqlite:///{reader.stack.data_dir / 'ledger.db'}")) as ledger:
        told = [m for m in ledger.messages() if m["kind"] == "appeal_outcome"]
    assert len(told) == 1 and "was overturned: permit valid." in told[0]["body"], told


def check_the_banners_temporal_line(reader: Reader) -> None:
    """The banner's `temporal workflow show` line, run for the first case decided: it reaches
    the dev server on its port and, through the codec endpoint, shows the decision in clear."""
    [line] = [ln for ln in reader.stack.banner.splitlines() if "workflow show" in ln]
    first = reader.ids["CASE_ID"][1]  # the first `queue claim`'s (0: the report's at the start)
    argv = [first if w == "CASE_ID" else w for w in shlex.split(line)]
    proc = subprocess.run([*argv, "--output", "json"], env=reader.stack.env, text=True,
                          capture_output=True, timeout=60)  # a running one's whole history
    assert proc.returncode == 0, proc.stderr
    payloads = list(_payloads(json.loads(proc.stdout)))
    assert payloads and all(encoding == b"json/plain" for encoding, _ in payloads)
    assert any(b"Replica watch sold as genuine" in data for _, data in payloads)


def _payloads(node: object) -> Iterator[tuple[bytes, bytes]]:
    """(encoding, data) of every payload of a history as `temporal … --output json` prints it."""
    if isinstance(node, dict):
        if "data" in node and "encoding" in node.get("metadata", {}):
            yield (base64.b64decode(node["metadata"]["encoding"]), base64.b64decode(node["data"]))
        for value in node.values():
            yield from _payloads(value)
    elif isinstance(node, list):
        for value in node:
            yield from _payloads(value)
