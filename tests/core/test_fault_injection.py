"""FAULT_INJECT: parsed and checked as a setting, off by default, firing at its rate."""

from __future__ import annotations

import pytest

from core.errors import ConfigError, InjectedFault
from core.faults import FAULT_POINTS, NO_FAULTS, FaultInjector, parse_fault_rates
from core.settings import load_settings


def test_the_setting_is_parsed_checked_and_off_by_default() -> None:
    assert load_settings().fault_inject == {} and not NO_FAULTS.enabled
    assert load_settings(fault_inject="sink.apply:0.1, risk.decide:1").fault_inject == {
        "sink.apply": 0.1,
        "risk.decide": 1.0,
    }
    with pytest.raises(ConfigError, match=r"FAULT_INJECT: .*unknown fault point 'sink\.aply'"):
        load_settings(fault_inject="sink.aply:0.1")
    with pytest.raises(ConfigError, match=r"within 0\.\.1"):
        load_settings(fault_inject="sink.apply:1.5")
    with pytest.raises(ValueError, match="not point:rate"):
        parse_fault_rates("sink.apply")


def test_a_point_fires_at_its_rate_and_only_there() -> None:
    faults = FaultInjector({"sink.apply": 0.25, "risk.decide": 1.0}, seed=3)
    fired = 0
    for _ in range(2000):
        try:
            faults.fire("sink.apply")
        except InjectedFault:
            fired += 1
    assert 400 < fired < 600 and faults.fired == {"sink.apply": fired}
    with pytest.raises(InjectedFault, match=r"risk\.decide"):
        faults.fire("risk.decide")
    for point in FAULT_POINTS:
        NO_FAULTS.fire(point)  # never raises


def schedule(faults: FaultInjector, calls: list[str]) -> dict[str, list[int]]:
    """The call indices, per point, at which `faults` raised over `calls`."""
    seen: dict[str, int] = {}
    failed: dict[str, list[int]] = {}
    for point in calls:
        n = seen[point] = seen.get(point, -1) + 1
        try:
            faults.fire(point)
        except InjectedFault:
            failed.setdefault(point, []).append(n)
    return failed


def test_with_a_seed_each_points_faults_do_not_depend_on_how_calls_interleave() -> None:
    """Workers call the points in an order set by timing; the faults a seed gives a point must not move."""
    rates = {"sink.apply": 0.3, "risk.publish": 0.3}
    apart = schedule(FaultInjector(rates, seed=7), ["sink.apply"] * 50 + ["risk.publish"] * 50)
    mixed = schedule(FaultInjector(rates, seed=7), ["sink.apply", "risk.publish"] * 50)
    assert apart == mixed and apart["sink.apply"] and apart["risk.publish"]
