"""Walk-forward evaluation: choices made on the span before, intervals that respect overlapping labels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.evaluate import main, seed_range
from models.walk_forward import LN2, Labels, block_bootstrap_ci, evaluate_market, verdict, walk_forward


def test_a_block_bootstrap_is_wider_than_an_iid_one_on_overlapping_labels() -> None:
    rng = np.random.Generator(np.random.PCG64(5))
    noise = rng.normal(size=4_020)
    overlapped = np.convolve(noise, np.ones(20) / 20, mode="valid")  # 20-fold overlap, like the labels
    _, lo_iid, hi_iid = block_bootstrap_ci([overlapped], 1, reps=400)
    mean, lo, hi = block_bootstrap_ci([overlapped], 40, reps=400)
    assert lo <= mean <= hi
    assert (hi - lo) > 2.5 * (hi_iid - lo_iid)  # the iid interval claims ~sqrt(20) too much precision
    # the true standard error of this mean: sqrt(4,020) / 4,001 (a sum of the noise, over n)
    true_half = 1.96 * math.sqrt(4_020) / 4_001
    assert 0.6 * true_half < (hi - lo) / 2 < 1.5 * true_half
    assert verdict((-1.0, -2.0, -0.5)) == "better" and verdict((0.1, -0.1, 0.3)) == "no difference"


def test_the_rate_is_chosen_on_the_span_before_and_scored_only_on_the_next() -> None:
    # two spans of 100 labels; rate 0.1 is right in span 0 and wrong in span 1, rate 0.01 the opposite
    ts = list(range(0, 200))
    up = [True] * 200
    good_then_bad = [0.9] * 100 + [0.1] * 100
    bad_then_good = [0.1] * 100 + [0.9] * 100
    labels = Labels(ts, up, [1.0] * 200, {0.1: good_then_bad, 0.01: bad_then_good})
    scored = walk_forward(labels, 0, 200, 2)
    assert scored.chosen_lr == [0.1]  # what span 0 said, even though it is wrong in span 1
    assert len(scored.model) == 100
    assert scored.model.mean() == pytest.approx(-math.log(0.1))
    assert scored.half.mean() == pytest.approx(LN2)
    # momentum: every label is up after an up move, so the strongest momentum is chosen and wins
    assert scored.chosen_c == [0.2] and scored.momentum.mean() == pytest.approx(-math.log(0.7))


def test_a_small_walk_forward_runs_on_both_markets_and_prints_its_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = evaluate_market(
        seeds=[1], minutes=1.0, random_walk=True, rate_eps=120.0, warmup=20, spans=3, reps=50
    )
    assert report.n > 100 and report.n_eff == pytest.approx(report.n / 20)
    assert report.half == pytest.approx(LN2)
    for ci in (report.vs_half, report.vs_momentum):
        assert all(math.isfinite(v) for v in ci) and ci[1] <= ci[2]
    assert main(["--seeds", "1", "--minutes", "0.7", "--rate", "100", "--spans", "2", "--reps", "20"]) == 0
    out = capsys.readouterr().out
    assert "documented" in out and "random walk" in out and "model - 0.5" in out


def test_seed_ranges() -> None:
    assert seed_range("1-3") == [1, 2, 3] and seed_range("4,7") == [4, 7] and seed_range("2") == [2]
    with pytest.raises(Exception, match="seeds must look like"):
        seed_range("a-b")
