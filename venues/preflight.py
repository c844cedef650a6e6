"""The preflight every transaction venue runs before signing: simulate, classify, unit limit, unit price.

Why simulate at all: the compute-unit limit decides the priority fee (price x limit), so it is set from
what the transaction really consumes (`unitsConsumed` plus a margin) rather than the chain's maximum.
The probe is signed without a budget and simulated without signature verification.

A failed simulation is classified by the error's value, never by its text (`chain.rpc.is_blockhash_not_found`:
the wire form of the fieldless `BlockhashNotFound` variant): it means the blockhash went stale before
signing, a transient `BlockhashNotFound` worth preparing again; any other error is `PreflightFailed`,
which no retry fixes.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair

from chain.rpc import RpcClient, is_blockhash_not_found
from core.errors import BlockhashNotFound, PreflightFailed
from venues.fees import PriorityFeePolicy, budgeted_transaction, transaction_base64, unit_limit


@dataclass(frozen=True, slots=True)
class Budget:
    """The compute budget a simulation justified: a unit limit and the unit price policy gives it."""

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
    fees: PriorityFeePolicy,
    cu_margin_bps: int,
) -> Budget:
    """Simulate `body` unbudgeted, then size its budget; raises BlockhashNotFound or PreflightFailed."""
    probe = budgeted_transaction(payer, body, blockhash, None, 0)
    simulation = await rpc.simulate_transaction(transaction_base64(probe), sig_verify=False)
    raise_for_simulation(simulation.err, order_id)
    limit = unit_limit(simulation.units_consumed, cu_margin_bps)
    return Budget(limit, fees.unit_price(limit))
