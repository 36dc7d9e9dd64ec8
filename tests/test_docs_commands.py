"""Every `casework` command the README and the docs show parses as written: a documented flag
the command line does not take fails here, not in a reader's terminal. (They run, in order, on a
live stack in `test_readme_live.py`.)"""

from __future__ import annotations

import shlex

import pytest

from cli import build_parser
from tests.helpers import doc_commands, documented


@pytest.mark.parametrize(("where", "command"), documented(), ids=lambda v: v[:60])
def test_a_documented_command_parses(where: str, command: str) -> None:
    try:
        build_parser().parse_args(shlex.split(command)[1:])
    except SystemExit as e:
        pytest.fail(f"{where}: `{command}` does not parse (exit {e.code})")


def test_the_docs_show_commands() -> None:
    assert len(documented()) >= 60


def test_the_extraction_keeps_what_a_reader_types() -> None:
    """Prefixes, redirections, optional parts and alternatives, as the live run needs them."""
    commands = {c.text: c for c in doc_commands()}
    opened = next(c for c in commands.values() if c.text.startswith("casework case open"))
    assert opened.env == {"CASEWORK_TOKEN": "cw_…"} and "\\" not in opened.text
    listed = commands["casework sandbox list --shop S-25 --limit 300 --ids"]
    assert (listed.stdout, listed.stdin) == ("ids.txt", None)
    assert commands["casework reviewer password alice"].stdin == "password.txt"
    steer = commands["casework takedown pause|resume|cancel|reverse JOB_ID"]
    assert steer.variants == [f"casework takedown {c} JOB_ID"
                              for c in ("pause", "resume", "cancel", "reverse")]
    assert "casework ops stuck --kind KIND --json" in commands  # optional parts given
    stuck = next(c for c in commands.values() if c.text.startswith("casework ops stuck --kind n"))
    assert stuck.variants[-1] == "casework ops stuck --kind activity_retrying"  # `|…` dropped
