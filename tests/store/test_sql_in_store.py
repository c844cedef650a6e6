"""SQL lives in `store/`: no other app module hands a statement to a connection or pool itself.

Found on the syntax tree: a call of `fetch`/`fetchrow`/`fetchval`/`execute`/`executemany` whose first
argument is text: a literal (plain, f-string or concatenation) or a name the module binds to one. Redis
pipelines' `execute()` takes no argument and is not one.
"""

from __future__ import annotations

import ast

import tests.test_architecture as architecture

QUERY_METHODS = frozenset({"fetch", "fetchrow", "fetchval", "execute", "executemany"})
# SQL still outside store/, in areas being rewritten on their own branches: each should move to store/.
NOT_YET_MOVED = frozenset({"models.checkpoints", "venues.lifecycle"})


def _is_text(node: ast.expr, text_names: set[str]) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Name):
        return node.id in text_names
    return isinstance(node, ast.BinOp) and (
        _is_text(node.left, text_names) or _is_text(node.right, text_names)
    )


def statement_lines(tree: ast.AST) -> list[int]:
    """Lines of the calls that send a statement, in source order."""
    text_names: set[str] = set()
    for node in ast.walk(tree):  # names bound to text anywhere in the module (constants and locals)
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if _is_text(node.value, set()):
                text_names.update(t.id for t in targets if isinstance(t, ast.Name))
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in QUERY_METHODS
        and node.args
        and _is_text(node.args[0], text_names)
    )


def statements_outside_store() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for module, path in architecture.app_modules().items():
        if module.split(".")[0] != "store":
            lines = statement_lines(ast.parse(path.read_text(), str(path)))
            if lines:
                found[module] = lines
    return found


def test_sql_statements_live_in_store() -> None:
    outside = {m: lines for m, lines in statements_outside_store().items() if m not in NOT_YET_MOVED}
    assert outside == {}


def test_the_finder_sees_statements_and_not_pipelines() -> None:
    source = (
        '_UPSERT = "INSERT INTO t VALUES ($1)"\n'
        "async def f(db, pipe, where):\n"
        '    await db.fetch("SELECT 1")\n'
        "    await pipe.execute()\n"
        "    await db.execute(_UPSERT, 1)\n"
        '    sql = f"SELECT * FROM t WHERE {where}"\n'
        "    await db.fetchrow(sql)\n"
        '    await db.fetchval("SELECT " + where)\n'
        "    await db.execute(where)\n"
    )
    assert statement_lines(ast.parse(source)) == [3, 5, 7, 8]
