"""`python -m models.evaluate --ablation`: quote and perp features reach the model, scored out of sample."""

from __future__ import annotations

from models.ablation import VARIANTS, format_ablation, run_seed
from models.evaluate import main


def test_each_variant_scores_each_pair_and_only_pairs_with_a_perp_see_it() -> None:
    scores = {(s.pair, s.variant): s for s in run_seed(1, 1.5)}
    assert set(scores) == {(p, v) for p in ("SOL/USDC", "JUP/USDC", "BONK/SOL") for v in VARIANTS}
    assert all(s.n > 50 for s in scores.values())
    sol, bonk = "SOL/USDC", "BONK/SOL"
    assert scores[sol, "+perp"].log_loss != scores[sol, "swaps"].log_loss  # SOL-PERP reached SOL/USDC
    assert scores[sol, "+quote"].log_loss != scores[sol, "swaps"].log_loss
    assert scores[bonk, "+perp"].log_loss == scores[bonk, "swaps"].log_loss  # no perp prices BONK
    text = format_ablation(list(scores.values()), minutes=1.5, random_walk=False)
    assert "documented market" in text and "+both" in text and "gain vs 0.5" in text


def test_the_cli_prints_both_markets(capsys: object) -> None:
    assert main(["--ablation", "--seeds", "2", "--minutes", "0.5"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "on the documented market" in out and "on the random walk" in out
