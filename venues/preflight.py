"""The preflight every transaction venue runs before signing: simulate, classify, unit limit, unit price.

Why simulate at all: the compute-unit limit decides the priority fee (price x limit), so it is set from
what the transaction really consumes (`unitsConsumed` plus a margin, capped) rather than the chain's
maximum. The probe carries a `SetComputeUnitLimit` of the chain's maximum (without it every top-level
instruction gets only 200,000 CU, and heavy routes fail simulation), no unit price, and is simulated
without signature verification.

A failed simulation is classified by the error's value, never by its text (`chain.rpc.is_blockhash_not_found`:
the wire form of the fieldless `BlockhashNotFound` variant): it means the blockhash went stale before
signing, a transient `BlockhashNotFound` worth preparing again; any other error is `PreflightFailed`,
which no retry fixes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair

from chain.rpc import RpcClient, is_blockhash_not_found
from core.errors import BlockhashNotFound, PreflightFailed
from venues.fees import (
    MAX_COMPUTE_UNITS,
    PriorityFeePolicy,
    budgeted_transaction,
    transaction_base64,
    unit_limit,
)


@dataclass(frozen=True, slots=True)
class Budget:
    """The compute budget a simulation justified: a unit limit and the unit price policy gives it (0
    without a policy: a Jito bundle)."""

    unit_limit: int
    unit_price: int


def raise_for_simulation(err: object, order_id: str) -> None:
    """Nothing when the simulation succeeded (`err` None); else the error the failure means."""
    if err is None:
        return
    if is_blockhash_not_found(err):
        raise BlockhashNotFound(f"order {order_id}: blockhash expired before signing", data=err)
    raise PreflightFailed(f"order {order_id}: simulation failed: {err}", data=err)


async def preflight(
    rpc: RpcClient,
    payer: Keypair,
    body: list[Instruction],
    blockhash: Hash,
    *,
    order_id: str,
    fees: PriorityFeePolicy | None,
    cu_margin_bps: int,
    tables: Sequence[AddressLookupTableAccount] = (),
    max_unit_limit: int = MAX_COMPUTE_UNITS,
) -> Budget:
    """Simulate `body` at the chain's maximum unit limit, then size its budget; raises
    BlockhashNotFound or PreflightFailed."""
    probe = budgeted_transaction(payer, body, blockhash, MAX_COMPUTE_UNITS, None, tables)
    simulation = await rpc.simulate_transaction(transaction_base64(probe), sig_verify=False)
    raise_for_simulation(simulation.err, order_id)
    limit = unit_limit(simulation.units_consumed, cu_margin_bps, cap=max_unit_limit)
    return Budget(limit, 0 if fees is None else fees.unit_price(limit))
