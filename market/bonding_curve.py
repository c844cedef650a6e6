"""Pump.fun bonding-curve maths in raw units, after the program's own `bondingCurve.ts`.

Reserves are the curve's virtual reserves; `real_token_reserves` caps what the curve can sell, and the
curve completes when it reaches zero. Fees are charged on the SOL side and are a parameter, never a
constant, because Pump.fun tiers and changes them: `fee_bps` is the total (protocol + creator) and
`creator_fee_bps` the creator's part of it. The program rounds each part up separately
(pump-public-docs `docs/bondingCurve.ts`, SDK `fees.ts`), so their sum can exceed one round-up of the
total by a lamport; with `creator_fee_bps=0` (split unknown) the total is rounded once. Checked exactly
against real trades and `tests/venues/vectors/pumpfun_fees.json` (docs/protocols/README.md §1.8).
"""

from __future__ import annotations

from dataclasses import dataclass

INITIAL_VIRTUAL_TOKEN_RESERVES = 1_073_000_000_000_000
INITIAL_VIRTUAL_SOL_RESERVES = 30_000_000_000
INITIAL_REAL_TOKEN_RESERVES = 793_100_000_000_000
TOKEN_TOTAL_SUPPLY = 1_000_000_000_000_000
TOKEN_DECIMALS = 6


def fee(amount: int, bps: int) -> int:
    return -(-amount * bps // 10_000)


def fees(amount: int, fee_bps: int, creator_fee_bps: int = 0) -> int:
    """Protocol fee and creator fee, each rounded up, summed; `fee_bps` includes `creator_fee_bps`."""
    if not 0 <= creator_fee_bps <= fee_bps:
        raise ValueError(f"creator_fee_bps {creator_fee_bps} must be within the total fee_bps {fee_bps}")
    return fee(amount, fee_bps - creator_fee_bps) + fee(amount, creator_fee_bps)


@dataclass(frozen=True, slots=True)
class Curve:
    virtual_token_reserves: int
    virtual_sol_reserves: int
    real_token_reserves: int
    real_sol_reserves: int = 0
    complete: bool = False

    @classmethod
    def initial(cls) -> Curve:
        return cls(INITIAL_VIRTUAL_TOKEN_RESERVES, INITIAL_VIRTUAL_SOL_RESERVES, INITIAL_REAL_TOKEN_RESERVES)

    def spot_price(self) -> float:
        """Lamports per raw token."""
        return self.virtual_sol_reserves / self.virtual_token_reserves


def buy_cost(curve: Curve, tokens: int, fee_bps: int, creator_fee_bps: int = 0) -> tuple[int, int, int]:
    """Legacy `buy` (exact tokens out): returns (tokens, sol cost before fee, fee)."""
    n = min(tokens, curve.real_token_reserves)
    if n <= 0 or curve.complete:
        return 0, 0, 0
    cost = n * curve.virtual_sol_reserves // (curve.virtual_token_reserves - n) + 1
    return n, cost, fees(cost, fee_bps, creator_fee_bps)


def _net_of_fees(sol_in: int, fee_bps: int, creator_fee_bps: int) -> tuple[int, int]:
    """The largest-by-formula curve input whose fees still fit in `sol_in`: (net, fees). Two round-ups
    can overshoot by a lamport, which the program takes back from `net` (IDL `buy_exact_sol_in` docs)."""
    net = sol_in * 10_000 // (10_000 + fee_bps)
    charged = fees(net, fee_bps, creator_fee_bps)
    if net + charged > sol_in:
        net -= net + charged - sol_in
        charged = fees(net, fee_bps, creator_fee_bps)
    return net, charged


def buy_with_sol(curve: Curve, sol_in: int, fee_bps: int, creator_fee_bps: int = 0) -> tuple[int, int, int]:
    """Buy for a given SOL amount (fee included): returns (tokens out, sol into the curve, fee)."""
    if sol_in <= 0 or curve.complete:
        return 0, 0, 0
    net, charged = _net_of_fees(sol_in, fee_bps, creator_fee_bps)
    tokens = net * curve.virtual_token_reserves // (curve.virtual_sol_reserves + net)
    tokens = min(tokens, curve.real_token_reserves)
    return tokens, net, charged


def buy_exact_sol_in(
    curve: Curve, spendable_sol_in: int, fee_bps: int, creator_fee_bps: int = 0
) -> tuple[int, int, int]:
    """The program's `buy_exact_sol_in` quote (IDL docs): (tokens out, sol into the curve, fees). Unlike
    `buy_with_sol` it prices `net - 1`, so the tokens never cost more than `net` under `buy_cost`."""
    if spendable_sol_in <= 0 or curve.complete:
        return 0, 0, 0
    net, charged = _net_of_fees(spendable_sol_in, fee_bps, creator_fee_bps)
    if net <= 1:
        return 0, 0, 0
    tokens = (net - 1) * curve.virtual_token_reserves // (curve.virtual_sol_reserves + net - 1)
    return min(tokens, curve.real_token_reserves), net, charged


def sell_proceeds(curve: Curve, tokens: int, fee_bps: int, creator_fee_bps: int = 0) -> tuple[int, int]:
    """Sell exact tokens: returns (sol out of the curve before fee, fee). The user gets the difference."""
    if tokens <= 0 or curve.complete:
        return 0, 0
    gross = tokens * curve.virtual_sol_reserves // (curve.virtual_token_reserves + tokens)
    gross = min(gross, curve.real_sol_reserves) if curve.real_sol_reserves else gross
    return gross, fees(gross, fee_bps, creator_fee_bps)


def apply_buy(curve: Curve, tokens: int, sol_into_curve: int) -> Curve:
    real_tokens = curve.real_token_reserves - tokens
    return Curve(
        virtual_token_reserves=curve.virtual_token_reserves - tokens,
        virtual_sol_reserves=curve.virtual_sol_reserves + sol_into_curve,
        real_token_reserves=real_tokens,
        real_sol_reserves=curve.real_sol_reserves + sol_into_curve,
        complete=real_tokens <= 0,
    )


def apply_sell(curve: Curve, tokens: int, sol_out_of_curve: int) -> Curve:
    return Curve(
        virtual_token_reserves=curve.virtual_token_reserves + tokens,
        virtual_sol_reserves=curve.virtual_sol_reserves - sol_out_of_curve,
        real_token_reserves=curve.real_token_reserves + tokens,
        real_sol_reserves=curve.real_sol_reserves - sol_out_of_curve,
        complete=curve.complete,
    )
