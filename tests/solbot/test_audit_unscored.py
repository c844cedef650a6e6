"""`solbot.audit.unscored`: a snapshot the model skipped is found, the tail a run still holds is not."""

from __future__ import annotations

from solbot.audit import unscored


def snap(pair: str, ts: int) -> dict[str, object]:
    return {"id": f"{pair}@{ts}", "pair": pair, "ts_ms": ts}


def test_a_skipped_snapshot_is_missing_but_the_newest_unscored_ones_are_not() -> None:
    snapshots = [snap("PUMP3/SOL", t) for t in (1000, 1250, 1500, 1750)] + [snap("SOL/USDC", 1000)]
    signals = [
        {"id": "mark:PUMP3/SOL@1000"},
        {"id": "sig:PUMP3/SOL@1500:pump_launch"},  # 1250 skipped: a later one was scored
        {"id": "sig:PUMP3/SOL@1500"},
    ]  # 1750 and SOL/USDC@1000 may still wait for their partition to move on
    assert unscored(snapshots, signals) == ["snapshot PUMP3/SOL@1250 has no signal"]
