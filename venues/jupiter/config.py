"""The Jupiter venue's configuration."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_URL = "https://api.jup.ag/swap/v1"


@dataclass(frozen=True, slots=True)
class JupiterConfig:
    """Where the Swap API is and how the venue builds on it. `max_slippage_bps` caps the tolerance the
    venue asks Jupiter for; `use_jito` sends each transaction as a Jito bundle with a tip inside it, and
    then pays no priority fee unless `priority_fee_in_bundles` (for `sendBundle` only the tip counts).
    `swap_instructions` builds from `/swap-instructions` (the documented way to add instructions);
    otherwise the `/swap` transaction is taken apart. `max_unit_limit` caps the simulated unit limit."""

    url: str = DEFAULT_URL
    api_key: str = ""
    max_slippage_bps: int = 300
    cu_margin_bps: int = 2_000
    timeout_s: float = 10.0
    use_jito: bool = False
    skip_preflight: bool = False
    swap_instructions: bool = True
    priority_fee_in_bundles: bool = False
    max_unit_limit: int = 1_400_000

    def __post_init__(self) -> None:
        if not 0 <= self.max_slippage_bps <= 10_000:
            raise ValueError("max_slippage_bps must be 0..10000")
        if self.cu_margin_bps < 0:
            raise ValueError("cu_margin_bps must be >= 0")
        if not 1_000 <= self.max_unit_limit <= 1_400_000:
            raise ValueError("max_unit_limit must be 1000..1400000")
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")

    def __repr__(self) -> str:  # never the API key
        return f"JupiterConfig(url={self.url!r}, use_jito={self.use_jito})"
