"""The risk knobs, frozen: the fields of `core.settings.RiskLimitSettings`, declared there and nowhere else.

`Settings` inherits the same declaration, so each limit has one name, one default and one set of bounds
(the limits' invariants) for the environment, `from_settings` and a test that builds `RiskLimits(...)`
directly. A new limit is a field of `RiskLimitSettings` (with its README row) read by one check in
`risk.checks`: nothing here changes.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from core.errors import ConfigError
from core.settings import RiskLimitSettings, Settings


class RiskLimits(RiskLimitSettings):
    """The risk knobs, units in the names; built from Settings (`from_settings`) or directly in tests.

    A frozen object read on every decision: it adds no field to the declaration and refuses unknown
    names (a misspelt limit is an error, not a silent default). A value out of bounds raises
    `ValueError` (pydantic's `ValidationError`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def from_settings(cls, s: Settings, **overrides: Any) -> RiskLimits:
        """Every field from the same-named setting (`overrides` win); a field with no setting is an error."""
        missing = [name for name in cls.model_fields if name not in type(s).model_fields]
        if missing:
            raise ConfigError(f"risk limits with no setting of the same name: {', '.join(missing)}")
        values: dict[str, Any] = {name: getattr(s, name) for name in cls.model_fields}
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> RiskLimits:
        """A copy with `changes`, validated like a new one (`ValueError` on a value out of bounds)."""
        return type(self)(**{**self.__dict__, **changes})


def live_limits(limits: RiskLimits, live_max_order_usdc: float) -> RiskLimits:
    """The limits of a live run: live execution refuses, unsent, an order over `live_max_order_usdc`, so
    risk sizes every buy and sell within it (the smaller of it and `max_order_usdc`)."""
    cap = limits.max_order_usdc
    return limits.replace(max_order_usdc=min(cap, live_max_order_usdc) if cap > 0 else live_max_order_usdc)
