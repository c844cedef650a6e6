"""House rules on the import graph: layers only import downwards, and nothing imports in a circle.

The layers are written in `docs/architecture.md`; `LAYERS` below is the same table. A module is placed by
the longest prefix that names it. Same-rank imports between packages are allowed as long as they make no
cycle (between modules, and between packages).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_PACKAGES = (
    "core",
    "market",
    "streams",
    "tables",
    "wallet",
    "chain",
    "features",
    "models",
    "risk",
    "venues",
    "collectors",
    "store",
    "services",
    "notify",
    "backtest",
    "sandbox",
    "agents",
    "web",
    "solbot",
)

# rank: what may import what (a module may import ranks <= its own)
LAYERS: dict[str, int] = {
    "core": 0,
    # pure data and maths every core shares
    "market.tokens": 1,
    "market.amm": 1,
    "market.bonding_curve": 1,
    "market.fills": 1,
    "streams.records": 1,
    "streams.codec": 1,
    "streams.topics": 1,
    "streams.validate": 1,
    "streams.event_order": 1,
    "tables.windows": 1,
    "tables.batch_view": 1,
    "wallet": 1,
    # pure cores
    "chain": 2,
    "features": 2,
    "models": 2,
    "market": 2,
    "streams.progress": 2,
    # adapters and the cores that price through them; chain.rpc is the Solana JSON-RPC client (network I/O,
    # imports core only), used by venues and collectors: an adapter's rank, not a pure core's
    "chain.rpc": 3,
    "risk": 3,
    "venues": 3,
    "collectors": 3,
    "store": 3,
    "services": 3,
    # outbound notifications to operators (webhook, Telegram): HTTP I/O over core only, an adapter's rank
    "notify": 3,
    "streams.inspect": 3,
    "streams.broker": 3,
    "streams.broker_auth": 3,  # the clients' SASL options, used by streams.broker and streams.inspect
    # the backtest: the cores without Faust
    "backtest": 4,
    # the sandbox: a local mainnet-shaped world built from the chain, the pool maths and the venues' codecs
    "sandbox": 4,
    # Faust wiring
    "streams": 4,
    "tables": 4,
    "agents": 5,
    # operators' surfaces and the command line
    "web": 6,
    "solbot": 7,
}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def rank_of(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/architecture.md")


def app_modules() -> dict[str, Path]:
    out = {}
    for package in APP_PACKAGES:
        base = ROOT / package
        if not base.is_dir():
            continue
        for path in base.rglob("*.py"):
            out[module_name(path)] = path
    return out


def resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The app module an import names (`a.b.c` may be a module or a name inside `a.b`)."""
    while target:
        if target in modules:
            return target
        if "." not in target:
            return None
        target = target.rsplit(".", 1)[0]
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every app module `module` imports, at module level or inside functions (both count)."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        for name in names:
            hit = resolve(name, modules)
            if hit is not None and hit != module:
                found.add(hit)
    return found


def graph() -> dict[str, set[str]]:
    modules = app_modules()
    return {m: imports_of(m, p, modules) for m, p in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_every_module_has_a_layer() -> None:
    for module in app_modules():
        rank_of(module)


def test_no_upward_import() -> None:
    upward = [
        f"{src} ({rank_of(src)}) -> {dst} ({rank_of(dst)})"
        for src, targets in sorted(graph().items())
        for dst in sorted(targets)
        if rank_of(dst) > rank_of(src)
    ]
    assert upward == []


def test_no_module_cycle() -> None:
    assert cycles(graph()) == []


def test_no_package_cycle() -> None:
    packages: dict[str, set[str]] = defaultdict(set)
    for src, targets in graph().items():
        for dst in targets:
            a, b = src.split(".")[0], dst.split(".")[0]
            if a != b:
                packages[a].add(b)
    assert cycles(packages) == []


def test_core_imports_nothing_of_the_app() -> None:
    g = graph()
    assert {
        m: sorted(t)
        for m, t in g.items()
        if m.startswith("core") and t - {x for x in t if x.startswith("core")}
    } == {}


def test_the_backtest_runs_without_faust_wiring() -> None:
    """Importing the backtest builds no Faust app, patches no consumer and loads no agent."""
    probe = (
        "import sys, backtest.engine, backtest.report\n"
        "bad = [m for m in sys.modules if m == 'streams.app' or m.startswith(('agents', 'faust.app', "
        "'faust.transport', 'streams.compat', 'tables.features', 'tables.risk'))]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""


def test_modules_stay_small() -> None:
    """No module over about 600 lines outside tests and benchmarks: split by what they hold."""
    long = {
        module: n for module, path in app_modules().items() if (n := len(path.read_text().splitlines())) > 600
    }
    assert long == {}


# A function longer than this many lines (decorators aside) is split by what it does, or named below with
# the reason it stays whole. None is today.
LONG_FUNCTION_LINES = 80
LONG_FUNCTIONS_ALLOWED: dict[str, str] = {}


def long_functions() -> dict[str, int]:
    """`module:function` -> lines, for every function or method over LONG_FUNCTION_LINES in the app."""
    out: dict[str, int] = {}
    for module, path in app_modules().items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > LONG_FUNCTION_LINES:
                    out[f"{module}:{node.name}"] = lines
    return out


def test_functions_stay_short() -> None:
    """Few functions over about 80 lines outside tests and benchmarks, each named with its reason."""
    assert sorted(long_functions()) == sorted(LONG_FUNCTIONS_ALLOWED)
