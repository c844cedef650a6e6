"""Solana JSON-RPC on solana-py's HTTP provider, with our policy around it (see `transport`).

`client` holds the Solana calls, `transport` the one JSON-RPC client (also Jito's), `errors` the mapping
of codes to `core.errors` classes and the Retry-After hint, `types` the records answers are read into.
"""

from chain.rpc.client import RpcClient
from chain.rpc.errors import (
    BLOCKHASH_NOT_FOUND_OR_PREFLIGHT,
    HTTP_TOO_MANY_REQUESTS,
    MIN_CONTEXT_SLOT_NOT_REACHED,
    NODE_UNHEALTHY,
    SIGNATURE_VERIFICATION_FAILURE,
    is_blockhash_not_found,
    map_error,
    parse_retry_after,
    retry_after_s,
)
from chain.rpc.transport import JsonRpcTransport
from chain.rpc.types import (
    AccountInfo,
    AtSlot,
    EpochInfo,
    LatestBlockhash,
    PrioritizationFee,
    SignatureInfo,
    SignatureStatus,
    Simulation,
    TokenAccount,
    TokenBalance,
    TransactionRecord,
)

__all__ = [
    "BLOCKHASH_NOT_FOUND_OR_PREFLIGHT",
    "HTTP_TOO_MANY_REQUESTS",
    "MIN_CONTEXT_SLOT_NOT_REACHED",
    "NODE_UNHEALTHY",
    "SIGNATURE_VERIFICATION_FAILURE",
    "AccountInfo",
    "AtSlot",
    "EpochInfo",
    "JsonRpcTransport",
    "LatestBlockhash",
    "PrioritizationFee",
    "RpcClient",
    "SignatureInfo",
    "SignatureStatus",
    "Simulation",
    "TokenAccount",
    "TokenBalance",
    "TransactionRecord",
    "is_blockhash_not_found",
    "map_error",
    "parse_retry_after",
    "retry_after_s",
]
