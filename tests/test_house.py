"""The house rules that keep one home per fact: a lifecycle's states are named in its declaration
(`domain/<lifecycle>/`) and nowhere else; no module is over 500 lines; no import points up a
layer."""

from __future__ import annotations

import ast
from pathlib import Path

from domain.lifecycles import LIFECYCLES

ROOT = Path(__file__).resolve().parents[1]
STATES = {s for d in LIFECYCLES.values() for s in d.states}
CODE = [p for p in ROOT.rglob("*.py")
        if p.relative_to(ROOT).parts[0] not in (".venv", "build", "data")
        and "site-packages" not in p.parts]
# Tests and benchmarks check outcomes by name; everything else asks the declaration.
OUTSIDE = [p for p in CODE if p.relative_to(ROOT).parts[0] not in ("tests", "bench", "domain")
           or p.relative_to(ROOT).parts[:1] == ("domain",) and len(p.relative_to(ROOT).parts) == 2
           and p.name not in ("engine.py", "lifecycles.py")]


def state_literals(tree: ast.AST) -> list[tuple[int, int, str]]:
    """String constants naming a state where code asks about a state: compared with (`==`,
    `in` a literal tuple, list or set, on either side of `==`), passed as `state=`/`states=`,
    or listed with other state names in a literal collection."""
    found: dict[int, ast.Constant] = {}

    def names(node: ast.AST) -> list[ast.Constant]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node]
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return [c for e in node.elts for c in names(e)]
        return []

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):  # (`"x" in text` is a search, not a state check)
            equal = all(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops)
            consts = [c for side in ([node.left] if equal else []) + node.comparators
                      for c in names(side)]
        elif isinstance(node, ast.keyword) and node.arg in ("state", "states"):
            consts = names(node.value)
        elif isinstance(node, ast.Tuple | ast.List | ast.Set):
            consts = names(node)
            if sum(c.value in STATES for c in consts) < 2:
                consts = []
        else:
            continue
        found.update({id(c): c for c in consts if c.value in STATES})
    return sorted((c.lineno, c.col_offset, c.value) for c in found.values())


def test_no_state_name_is_written_outside_its_declaration() -> None:
    hits = [f"{p.relative_to(ROOT)}:{line}: {name!r}" for p in OUTSIDE
            for line, _, name in state_literals(ast.parse(p.read_text()))]
    assert not hits, ("state names belong to their lifecycle's declaration (use its enum or "
                      "its named sets):\n" + "\n".join(sorted(set(hits))))


def test_the_rule_sees_what_it_is_for() -> None:
    tree = ast.parse('if case.state in ("queued", "in_review"): pass\n'
                     'x = y.state == "closed"\nf(state="screening")\n'
                     'if "paused" == job.state: pass\n')
    assert [n for _, _, n in state_literals(tree)] == ["queued", "in_review", "closed", "screening",
                                                       "paused"]


# The layers, bottom first: a module imports from its own floor or below, never above.
FLOORS = {"domain": 0, "config": 1, "ledger": 1, "marketplace": 1, "activities": 2,
          "workflows": 2, "worker": 3, "client": 3, "cli": 4, "api": 4, "stack": 5, "bench": 6}


def test_no_import_points_up_a_layer() -> None:
    upward = []
    for path in CODE:
        top = path.relative_to(ROOT).parts[0].removesuffix(".py")
        if top not in FLOORS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            upward += [f"{path.relative_to(ROOT)}:{node.lineno} imports {t}" for t in targets
                       if FLOORS.get(t.split(".")[0], -1) > FLOORS[top]]
    assert not upward, upward


def test_no_module_is_over_500_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in CODE
            if p.relative_to(ROOT).parts[0] != "tests" and (n := len(p.read_text().splitlines())) > 500}
    assert not long, f"split these by concern: {long}"


def test_every_patch_is_listed_once_with_its_retirement() -> None:
    from workflows.patches import PATCHES

    used: dict[str, int] = {}
    for p in OUTSIDE:
        for node in ast.walk(ast.parse(p.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("patched", "deprecate_patch")):
                arg = node.args[0]
                assert isinstance(arg, ast.Constant), f"{p}: a patch id is a literal"
                used[arg.value] = used.get(arg.value, 0) + 1
    assert set(used) == set(PATCHES), (set(used) ^ set(PATCHES))
    assert all(p.retire_on > p.added for p in PATCHES.values())
