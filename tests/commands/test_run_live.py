"""`solbot run --live` refuses, in one line and before anything starts, every run that is not opted in:
no LIVE_TRADING, no keystore, no confirmation (no terminal and no --yes), a wrong passphrase, or the live
flags without --live."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import Settings
from solbot.live import live_market, plan_live
from tests.commands.test_bad_input import base_env, solbot
from wallet import keystore
from wallet.keystore import Passphrase, WalletError

PASS = "a long enough passphrase for tests"


@pytest.mark.parametrize(
    ("argv", "extra", "said"),
    [
        (["run", "--live", "--yes"], {}, "--live needs the setting LIVE_TRADING=true"),
        (["run", "--yes"], {}, "--yes, --dry-run and --passphrase-fd go with --live"),
        (["run", "--dry-run"], {"LIVE_TRADING": "true"}, "go with --live"),
        (["run", "--live", "--yes"], {"LIVE_TRADING": "true"}, "--live needs a wallet: no keystore"),
    ],
)
def test_live_runs_that_are_not_opted_in_are_refused_in_one_line(
    tmp_path: Path, argv: list[str], extra: dict[str, str], said: str
) -> None:
    proc = solbot(argv, {**base_env(tmp_path), **extra}, tmp_path)
    assert proc.returncode == 2 and said in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr


def live_settings(tmp_path: Path) -> Settings:
    path = tmp_path / "wallet.json"
    keystore.create(path, Passphrase(PASS))
    return Settings(data_dir=tmp_path, live_trading=True, wallet_path=path)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_confirmation_must_be_typed_at_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = live_settings(tmp_path)
    monkeypatch.setenv(keystore.PASSPHRASE_ENV, PASS)
    with pytest.raises(ConfigError, match="typed confirmation at a terminal, or --yes"):
        plan_live(settings, yes=False, dry_run=False, passphrase_fd=None, stdin=io.StringIO("LIVE\n"))
    with pytest.raises(Exception, match="not confirmed: nothing was sent"):
        plan_live(
            settings, yes=False, dry_run=False, passphrase_fd=None, stdin=Tty("yes\n"), out=io.StringIO()
        )
    out = io.StringIO()
    plan = plan_live(settings, yes=False, dry_run=True, passphrase_fd=None, stdin=Tty("LIVE\n"), out=out)
    assert plan.dry_run and plan.address == keystore.address(tmp_path / "wallet.json")
    assert "DRY RUN" in out.getvalue() and PASS not in out.getvalue() and PASS not in repr(plan)


def test_a_wrong_passphrase_stops_the_run_before_any_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = live_settings(tmp_path)
    monkeypatch.setenv(keystore.PASSPHRASE_ENV, "not the passphrase")
    with pytest.raises(WalletError):
        plan_live(settings, yes=True, dry_run=False, passphrase_fd=None, out=io.StringIO())


def test_each_worker_reads_the_passphrase_from_its_own_pipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = live_settings(tmp_path)
    monkeypatch.setenv(keystore.PASSPHRASE_ENV, PASS)
    plan = plan_live(settings, yes=True, dry_run=False, passphrase_fd=None, out=io.StringIO())
    fd = plan.pipe_for_worker()
    assert keystore.read_passphrase(fd=fd).reveal() == PASS.encode()


def test_live_never_trades_real_funds_on_the_simulated_market(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = live_settings(tmp_path)
    monkeypatch.setenv(keystore.PASSPHRASE_ENV, PASS)
    assert settings.market_source == "auto" and live_market(settings).market_source == "chain"
    simulated = settings.model_copy(update={"market_source": "sim"})
    with pytest.raises(ConfigError, match="real funds on the simulated market's prices"):
        plan_live(simulated, yes=True, dry_run=False, passphrase_fd=None, out=io.StringIO())
    # A dry run sends nothing: it may rehearse on the simulated market, which stays its market.
    plan = plan_live(simulated, yes=True, dry_run=True, passphrase_fd=None, out=io.StringIO())
    assert plan.dry_run and live_market(simulated).market_source == "sim"


def test_the_rpc_key_in_the_url_is_never_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = live_settings(tmp_path).model_copy(
        update={"solana_rpc_url": "https://mainnet.helius-rpc.com/?api-key=SECRETKEY"}
    )
    monkeypatch.setenv(keystore.PASSPHRASE_ENV, PASS)
    out = io.StringIO()
    plan_live(settings, yes=True, dry_run=True, passphrase_fd=None, out=out)
    assert "mainnet.helius-rpc.com" in out.getvalue() and "SECRETKEY" not in out.getvalue()
