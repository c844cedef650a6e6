"""Real mainnet Pump.fun event bytes, shared by the decoder tests (data only, with where each came from).

Search-index content ids are given where the public file's repository could not be named through the
index; each vector is also checked independently (PDA derivation, curve maths, instruction args).
"""

from __future__ import annotations

# TradeEvent, original 129-byte layout (2024-12-19). From a public Rust test that asserts every field
# (search-index content id 3517449190); the asserted values are repeated in test_pumpfun_decoder.py.
TRADE_129_LINE = (
    "Program data: vdt/007mYe5fUJLKQBnZyU5a25rXFCHmUq3eDeg/6m3qXr6Y4LVhXz7JvUoAAAAAWdK2IWMiAAABjF9LiRHy"
    "IjjqqF93tZIAeB6MsYzDh6xG1Oi/PnwVBw/0JWRnAAAAAERvQMEHAAAANwv2V/5uAwBEwxzFAAAAADdz4wttcAIA"
)

# Self-CPI TradeEvents (tag + disc + 266-byte payload) from rpcpool/yellowstone-vixen
# tests/proc-macro/fixtures/3tkxRjND…cZgJ_tx.json (a buy, ix [1,5]) and 4GtxzHLT…ernYTQ_tx.json (a sell,
# ix [2,2]). tests/proc-macro/tests/pump_fun.rs asserts the matching instructions: buy amount
# 693_868_985_905 with max_sol_cost 55_000_000, sell amount 3_878_351_170_692 with min_sol_output
# 522_403_143.
VIXEN_BUY_CPI = bytes.fromhex(
    "e445a52e51cb9a1dbddb7fd34ee661ee9d2acc4a7cc6d86c90148f3554ea1c29528fcda99b50d2ef04a5f23541a37bff"
    "98b8fb0200000000317ed08da100000001b62a4311e65aa4cc57c745a9d05ba7c7ea92f38f4ccf7b24aeddbc8351d40b"
    "4ca9f4896900000000c9e4a7390b0000002cd869a23f5f0200c938843d040000002c405756ae6001004ac2f8d0dd5cbc"
    "97e3289c197cb5062a54f3d956b9ce6e5115f96567aa5cb3e65f000000000000005f41070000000000a5969114e19661"
    "6df0ca83947f7bb217f8bfdca7e15bfdeda748ee1b0e794c311e000000000000008a4a02000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000300000062757900"
)
VIXEN_SELL_CPI = bytes.fromhex(
    "e445a52e51cb9a1dbddb7fd34ee661eed7c959c09abb2635012a8dfcd921f2a2c2a89009878874cac2e94c713788427f"
    "d0eb902500000000846cbeff8603000000e264a1c6deca16faba4fa7668dbf721334a06e944128455398b372e6b7905a"
    "1c80f489690000000012633ac41000000064c8dee08d96010012b716c8090000006430cc94fc9700004ac2f8d0dd5cbc"
    "97e3289c197cb5062a54f3d956b9ce6e5115f96567aa5cb3e65f000000000000005b5c5b00000000002d43464c2fa158"
    "63793973f54bb64c24b29ceb6ab4b57405bc0e56059d88ff5f1e00000000000000ccd91c000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000400000073656c6c00"
)

# CreateEvent, early 202-byte layout (name..user only). From a public logsSubscribe capture
# (search-index content id 19251419358). Its bonding_curve is the PDA of its mint (checked in tests).
CREATE_EARLY_LINE = (
    "Program data: G3KpTd7rY3YLAAAAQUxETzJTV0FHR1kEAAAAQUxET0cAAABodHRwczovL2NmLWlwZnMuY29tL2lwZnMvUW1WY2Yy"
    "Z0pYcTh4M3NUUFA2U1NFb2NjY016RnpXU0RSNlQzeE5OaVg2WHZ2N2hIqGvLguM+zS/5Xz4TwhjNmU9dOrXlEYIHrYTxiN9f5Vot"
    "KNib9lRA+93ObqWtTKo3xPMPHFgC47IQxVF7hJX3AlROWq2eUWPi9OiKYkTwRIugwYDqrIyFsiyiqmVKww=="
)
# CreateEvent, 267-byte layout (creator, timestamp, reserves), from a public getTransaction JSON
# (search-index content id 34361065529).
CREATE_267_LINE = (
    "Program data: G3KpTd7rY3YGAAAAY29zdGNvBgAAAENPU1RDT0MAAABodHRwczovL2lwZnMuaW8vaXBmcy9RbWM0QnVybzdLSjV5"
    "UDRlVkpBY1lrbmtZTW1KSGlOOEhDakU1TDJDZUt6SEdhOlEIjuMgLqO9oCG/DwmmKUI6OumpYdid9c9VgKRsLPyrA5VAu/Y/pBxV"
    "z5lPWMygUNE67dUCDTCedqlFTYRUi5gcnBHWDouZ68hPeNswkhDfdiJPBamtiNdQ+uX95dwymBycEdYOi5nryE942zCSEN92Ik8F"
    "qa2I11D65f3l3DKCEUVoAAAAAAAQ2EfjzwMAAKwj/AYAAAAAeMX7UdECAACAxqR+jQMA"
)
# CreateEvent, 339-byte Token-2022 layout (token_program, mayhem/cashback flags, quote_mint,
# virtual_quote_reserves). A public Python test says it was captured from logsSubscribe and asserts
# name/symbol/uri (search-index content id 61476334975).
CREATE_339_LINE = (
    "Program data: G3KpTd7rY3YFAAAAc2VhbHkFAAAAc2VhbHlDAAAAaHR0cHM6Ly9pcGZzLmlvL2lwZnMvUW1YUk5TRDJmc3FncTFG"
    "dGZLSHhKSmdvWXZiNVBSeURoS3NqTlFGNFZvTFFFUEDWXWT6DfE70ocWan1nrbUMoU8ME79LnAoD0j4+7lEZ5xUTUm01m0qqkuwn"
    "qleIXH//r+1i72hHe0dsFbt4pEXS8/oqVRM/opM2XoQYgyk8FrKL8y8OlLoQOlt2GbTLuNLz+ipVEz+ikzZehBiDKTwWsovzLw6U"
    "uhA6W3YZtMu4d+BwagAAAAAAENhH488DAACsI/wGAAAAAHjF+1HRAgAAgMakfo0DAAbd9uHudY/eGEJdvORszdq2GvxNg7kNJ/69"
    "+SjYoYv8AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACsI/wGAAAA"
)
