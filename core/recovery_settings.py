"""Settings of recovery from faults: reconciliation of the risk state with the database, worker restarts
and fault injection (testing only). Declared apart from `Settings` (which inherits them, environment
keys = field names); docs/faults.md says what each fault does and how the code answers it."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import NoDecode

from core.faults import FAULT_POINTS, check_fault_rates, parse_fault_rates

_POINTS = ", ".join(f"`{p}`" for p in FAULT_POINTS)


class RecoverySettings(BaseModel):
    """How often and how patiently the risk state is reconciled; where exceptions are raised on purpose."""

    model_config = ConfigDict(frozen=True)

    # Reconciliation (risk/reconcile.py): at start, then every interval; a difference is repaired once it
    # lasted the grace (an executed order's fill applied) or the timeout (an order the sink never recorded:
    # its reservation released).
    reconcile_interval_s: float = Field(
        60.0,
        ge=1.0,
        le=3600.0,
        description=(
            "how often the risk state's reservations and positions are compared with `orders`/`executions` "
            "(and the paper chain with the database); also 10 s after start"
        ),
    )
    reconcile_grace_s: float = Field(
        30.0,
        ge=0.0,
        le=3600.0,
        description=(
            "how long a difference must last before it is acted on: an executed order's missing fill is "
            "applied from the database, a position difference alerted"
        ),
    )
    reconcile_order_timeout_s: float = Field(
        300.0,
        ge=1.0,
        le=86_400.0,
        description=(
            "a reservation whose order the sink never recorded is released after this long (an order the "
            "sink holds without outcome is alerted)"
        ),
    )
    # `solbot run` restarts a worker that exits (solbot/restarts.py), after a backoff that doubles with each
    # exit in the window; more exits than that in the window stop the run (a crash loop is not healed).
    worker_restart_max: int = Field(
        5,
        ge=0,
        le=1000,
        description=(
            "restarts of one worker `solbot run` allows within `worker_restart_window_s`; one more exit "
            "stops the run with an error (0: never restart)"
        ),
    )
    worker_restart_window_s: float = Field(
        300.0, ge=1.0, le=86_400.0, description="the window `worker_restart_max` counts exits in"
    )
    worker_restart_backoff_s: float = Field(
        1.0,
        ge=0.0,
        le=600.0,
        description="wait before restarting an exited worker; doubled for each earlier exit in the window",
    )
    worker_restart_backoff_max_s: float = Field(
        30.0, ge=0.0, le=3600.0, description="the longest wait before a worker restart"
    )
    # Off by default (core/faults.py): `point:rate,...` in the environment and the file alike.
    fault_inject: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=dict,
        description=(
            "testing only: `point:rate,...` (e.g. `sink.apply:0.1,risk.decide:0.05`) raises an exception "
            f"with that probability at a side-effect boundary ({_POINTS}); the batch is read again from "
            "stored offsets (docs/faults.md)"
        ),
    )
    fault_inject_seed: int | None = Field(
        None, description="seed of `FAULT_INJECT`'s draws (unset: a new one each start)"
    )

    @field_validator("fault_inject", mode="before")
    @classmethod
    def _parse_faults(cls, value: object) -> object:
        return parse_fault_rates(value) if isinstance(value, str) else value

    @field_validator("fault_inject")
    @classmethod
    def _check_faults(cls, value: dict[str, float]) -> dict[str, float]:
        return check_fault_rates(value)
