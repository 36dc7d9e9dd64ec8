"""Every CLI command is run through the CLI process by some test: by a test's `run_cli` /
`cli_json` call, or as a documented command that tests/test_readme_live.py runs in order."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
from pathlib import Path

from cli import build_parser
from tests.helpers import ROOT, doc_commands


def commands() -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, parser in action.choices.items():
                subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
                found += [(name, sub) for sub in subs[0].choices] if subs else [(name,)]
    return found


def test_every_cli_command_is_run_through_the_cli_by_a_test() -> None:
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    run_live = {" ".join(v.split()[1:3]) for c in doc_commands() for v in c.variants}
    missing = [" ".join(c) for c in commands()
               if not re.search(r'"' + r'",\s*"'.join(c) + r'"', tests)
               and " ".join(c) not in run_live and c[0] not in run_live]
    assert not missing, f"no test runs these through the CLI: {missing}"


def test_sandbox_load_fills_an_empty_sandbox(tmp_path: Path) -> None:
    env = {**os.environ, "CASEWORK_DATA_DIR": str(tmp_path)}
    casework = str(ROOT / ".venv" / "bin" / "casework")
    proc = subprocess.run([casework, "sandbox", "load", "--json"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["listings"] > 0
    assert (tmp_path / "sandbox.db").stat().st_mode & 0o077 == 0


def test_codec_server_serves_decode_only(tmp_path: Path) -> None:
    """`casework codec-server`: the endpoint the Temporal UI decrypts through; it decodes and
    never encodes (whoever could seal payloads could command casework's workflows)."""
    from tests.helpers import free_port
    from tests.test_codec_server import call

    port = free_port()
    env = {**os.environ, "CASEWORK_DATA_DIR": str(tmp_path), "CASEWORK_CODEC_PORT": str(port),
           "CASEWORK_CODEC_KEYS": "",
           "CASEWORK_CODEC_KEYS_FILE": str(ROOT / "tests" / "codec-test-keys.json")}
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "casework"), "codec-server"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert f":{port}" in proc.stdout.readline()
        url = f"http://127.0.0.1:{port}"
        status, _, body = call(f"{url}/decode", b'{"payloads": []}',
                               Content_Type="application/json")
        assert status == 200 and json.loads(body).get("payloads", []) == [], body
        status, _, _ = call(f"{url}/encode", b'{"payloads": []}',
                            Content_Type="application/json")
        assert status in (403, 404, 405)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_port_that_is_no_number_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = {**os.environ, "CASEWORK_DATA_DIR": str(tmp_path), "CASEWORK_TEMPORAL_PORT": "abc"}
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "casework"), "ledger", "rebuild"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ("casework: invalidinput: CASEWORK_TEMPORAL_PORT='abc' is not "
                                   "a whole number")
