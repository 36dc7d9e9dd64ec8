"""Every `casework` command the README and the docs show parses as written: a documented flag
the command line does not take fails here, not in a reader's terminal."""

from __future__ import annotations

import re
import shlex

import pytest

from client.cli import build_parser
from config.settings import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def documented() -> list[tuple[str, str]]:
    """(where, command) for each `casework …` line of a shell block, continuations joined,
    comments dropped, optional parts kept and alternatives resolved to the first."""
    found = []
    for doc in DOCS:
        for block in re.findall(r"```sh\n(.*?)```", doc.read_text(), re.DOTALL):
            for line in re.sub(r"\\\n\s*", " ", block).splitlines():
                command = re.sub(r"^(\w+=\S+ )+", "", line.strip())  # VAR=value prefixes
                if not command.startswith("casework "):
                    continue
                command = re.split(r"\s{2,}#|\s#\s", command)[0]
                command = re.sub(r"\s[<>]\s*\S+", "", command)  # redirections
                command = re.sub(r"\bN\b", "1", command)  # a number's placeholder
                command = re.sub(r"\[([^\]]*)\]", r"\1", command)  # optional parts, given
                command = re.sub(r"(?<![\w-])([\w-]+)\|[\w|-]+", r"\1", command)  # a|b: a
                found.append((doc.name, command.replace("…", "x")))
    return found


@pytest.mark.parametrize(("where", "command"), documented(), ids=lambda v: v[:60])
def test_a_documented_command_parses(where: str, command: str) -> None:
    try:
        build_parser().parse_args(shlex.split(command)[1:])
    except SystemExit as e:
        pytest.fail(f"{where}: `{command}` does not parse (exit {e.code})")


def test_the_docs_show_commands() -> None:
    assert len(documented()) >= 60
