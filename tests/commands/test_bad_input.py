"""Every command, given bad input, says so in one line on stderr and exits non-zero: never a traceback.

The commands are enumerated from the parser itself, so a new command without a row here fails the test.
Each row's environment points every service at a closed port, so nothing embedded is ever started.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from solbot.cli import _parser
from solbot.options import command_paths

CLOSED = {
    "BROKER_URL": "kafka://127.0.0.1:1",
    "DATABASE_URL": "postgresql://solbot@127.0.0.1:1/solbot",
    "REDIS_URL": "redis://127.0.0.1:1/0",
}

# command path -> (argv after `solbot`, extra environment)
BAD_INPUT: dict[tuple[str, ...], tuple[list[str], dict[str, str]]] = {
    ("run",): (["run", "--rate", "-5"], {}),
    ("worker",): (["worker"], {}),
    ("simulate",): (["simulate", "--rate", "-5"], {}),
    ("services",): (["services", "restart"], {}),
    ("db",): (["db", "migrate"], {"DATABASE_URL": "not-a-url"}),
    ("decode",): (["decode", "pumpfun", "not base64!"], {}),
    ("collect",): (["collect"], {}),
    ("record",): (["record", "--out", "{tmp}/out.jsonl"], {}),
    ("replay",): (["replay", "{tmp}/notes.txt"], {}),
    ("backtest",): (["backtest", "{tmp}/notes.txt"], {}),
    ("topics", "list"): (["topics", "list"], {}),
    ("topics", "tail"): (["topics", "tail", "raw.swaps"], {}),
    ("topics", "lag"): (["topics", "lag"], {}),
    ("retention",): (["retention", "--keep-days", "-1"], {}),
    ("wallet", "new"): (["wallet", "new"], {}),
    ("wallet", "import"): (["wallet", "import", "{tmp}/notes.txt"], {}),
    ("wallet", "address"): (["wallet", "address"], {}),
    ("wallet", "migrate"): (["wallet", "migrate"], {}),
    ("check",): (["check", "balances", "--port", "1"], {}),
    ("web",): (["web", "--port", "99999"], {}),
    ("halt",): (["halt"], {}),
    ("resume",): (["resume"], {}),
    ("portfolio",): (["portfolio", "rebuild"], {}),
    ("rebalance",): (["rebalance", "SOL/USDC=2"], {}),
    ("reset",): (["reset"], {}),
    ("config", "show"): (["config", "show"], {"MAX_POSITON_PCT": "3"}),
    ("config", "check"): (["--config", "{tmp}/missing.toml", "config", "check"], {}),
    ("config", "sample"): (["--set", "max_positon_pct=3", "config", "sample"], {}),
    ("config", "docs"): (["config", "docs", "--markdown"], {}),
    ("sandbox",): (["sandbox", "--fault", "meteor=0.5"], {}),
    ("roles", "list"): (["roles", "list"], {}),
    ("roles", "grant"): (["roles", "grant", "not-a-key", "viewer"], {}),
    ("roles", "revoke"): (["roles", "revoke", "not-a-key"], {}),
}


def test_every_command_has_a_bad_input_row() -> None:
    assert set(command_paths(_parser())) == set(BAD_INPUT)


def solbot(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "solbot.cli", *argv],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def base_env(tmp: Path) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "PYTHONPATH", "JAVA_HOME")
    env = {k: v for k, v in os.environ.items() if k in keep}
    return {**env, **CLOSED, "DATA_DIR": str(tmp / "data"), "PYTHONPATH": str(Path.cwd())}


def test_every_command_fails_on_bad_input_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a recording\n")

    def one(path: tuple[str, ...]) -> tuple[tuple[str, ...], subprocess.CompletedProcess[str]]:
        argv, extra = BAD_INPUT[path]
        argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
        return path, solbot(argv, {**base_env(tmp_path), **extra}, tmp_path)

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(one, sorted(BAD_INPUT)))
    failures = []
    for path, proc in results:
        lines = proc.stderr.splitlines()
        if proc.returncode == 0 or len(lines) != 1 or "Traceback" in proc.stderr:
            failures.append((" ".join(path), proc.returncode, proc.stderr[-500:]))
    assert failures == []


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("notes.txt", b"hello\n", "line 1 is not JSON"),
        ("garbage.jsonl.gz", bytes(range(256)), "cannot read it as a recording"),
        ("fields.jsonl", b'{"ts": 1, "price": 2}\n', "line 1 is not a recorded message"),
        ("empty.jsonl", b"", "holds no records: nothing to test"),
        ("empty.jsonl.gz", gzip.compress(b""), "holds no records: nothing to test"),
    ],
)
def test_backtest_refuses_what_is_not_a_recording(
    tmp_path: Path, name: str, content: bytes, said: str
) -> None:
    (tmp_path / name).write_bytes(content)
    proc = solbot(["backtest", name], base_env(tmp_path), tmp_path)
    assert proc.returncode == 1 and said in proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and proc.stdout == ""


def test_backtest_orders_into_a_directory_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "r.jsonl").write_bytes(b'{"topic": "raw.swaps"}\n')
    (tmp_path / "outdir").mkdir()
    proc = solbot(["backtest", "r.jsonl", "--orders", "outdir"], base_env(tmp_path), tmp_path)
    assert proc.returncode == 1 and "--orders outdir is a directory" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and proc.stdout == ""
    proc = solbot(["backtest", "r.jsonl", "--fills", "instant"], base_env(tmp_path), tmp_path)
    assert proc.returncode == 2 and "invalid choice: 'instant'" in proc.stderr


def test_a_worker_names_the_unreachable_service_not_a_guess(tmp_path: Path) -> None:
    proc = solbot(["worker"], base_env(tmp_path), tmp_path)
    assert proc.returncode == 3
    assert (
        proc.stderr.strip()
        == "solbot: BROKER_URL kafka://127.0.0.1:1 is unreachable (127.0.0.1:1: Connection refused)"
    )


def test_a_negative_rate_is_refused_before_anything_starts(tmp_path: Path) -> None:
    env = {k: v for k, v in base_env(tmp_path).items() if k not in CLOSED}  # run would start embedded ones
    proc = solbot(["run", "--rate", "-5", "--duration", "1"], env, tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "solbot: bad option --rate: Input should be greater than 0 (got -5.0)"
    assert not (tmp_path / "data").exists()  # no service, no data directory
