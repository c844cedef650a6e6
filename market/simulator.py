"""A simulated Solana DEX market: swaps on Raydium and Orca pools and Pump.fun launches, as wire records.

Every trade is executed with the same integer maths the paper venue uses (`market.amm`,
`market.bonding_curve`), so each Swap's post-trade reserves follow exactly from the previous ones.

Conventions for `Swap` amounts: `base_amount` and `quote_amount` are the changes of the pool's base and
quote reserves. For an AMM buy the quote amount is the taker's whole input (the fee stays in the pool);
for an AMM sell it is what the taker received. For Pump.fun they are the TradeEvent's `token_amount` and
`sol_amount`: SOL into or out of the curve before the fee, which is paid on top (buy) or deducted (sell).

Flow per event: noise traders (side from the pair's flow state, lognormal sizes) on a random venue;
arbitrageurs who trade a pool back to the edge of its no-arbitrage band, fair * (1 -/+ fee), once it
strays further; and Pump.fun coins with early buying momentum that decays, some of which are rugged by
one large sell, some of which complete their curve and stop trading.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
from solders.pubkey import Pubkey
from solders.signature import Signature

from market import amm
from market import bonding_curve as bc
from market.process import Draws, FairPriceProcess, ProcessParams
from market.venues import VenueName
from streams.records import Launch, PoolState, Swap

WSOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
JUP = "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN"
BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
PUMP_PROGRAM = Pubkey.from_string("6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P")

SLOT_MS = 400
FIRST_SLOT = 320_000_000


@dataclass(frozen=True)
class PairSpec:
    """A tradeable pair: mints, a starting price and pool depths (human units)."""

    base_mint: str
    quote_mint: str
    base_decimals: int
    quote_decimals: int
    price: float  # quote per base
    depth_quote: dict[str, float]  # venue -> quote-side reserve
    volume_quote_per_s: float  # noise traders' gross volume per second of event time, in quote units
    vol_scale: float
    weight: float  # share of the major-pair event flow


# Plain strings (`.value`): venue names become record fields and dict keys, which orjson wants as `str`.
RAYDIUM, ORCA, PUMPFUN = VenueName.RAYDIUM.value, VenueName.ORCA.value, VenueName.PUMPFUN.value
VENUE_FEES_BPS = {RAYDIUM: 25, ORCA: 30}
VENUE_SHARE = {RAYDIUM: 0.6, ORCA: 0.4}  # chance a noise trader routes to each venue

PAIRS: dict[str, PairSpec] = {
    "SOL/USDC": PairSpec(WSOL, USDC, 9, 6, 150.0, {RAYDIUM: 3.0e6, ORCA: 1.8e6}, 1_500.0, 1.0, 0.45),
    "JUP/USDC": PairSpec(JUP, USDC, 6, 6, 0.8, {RAYDIUM: 1.5e6, ORCA: 1.0e6}, 600.0, 1.6, 0.30),
    "BONK/SOL": PairSpec(BONK, WSOL, 5, 9, 1.5e-7, {RAYDIUM: 12_000.0, ORCA: 8_000.0}, 8.0, 2.2, 0.25),
}

TRADE_SIZE_SIGMA = 1.1  # lognormal sigma of noise-trade sizes
FLOW_IMPACT_PERMANENCE = (
    8.0  # flow is informed: the fair price moves 8x the push noise flow puts on the pools
)
ARB_SHARE = 0.3  # chance a major-pair event is an arbitrageur's look at the pair
ARB_MARGIN_BPS = 2.0  # beyond the fee, what an arbitrageur needs to bother

# Pump.fun launches
LAUNCH_GAP_S = (30.0, 90.0)
MAX_LIVE_LAUNCHES = 5
LAUNCH_MAX_AGE_S = 300.0
LAUNCH_SHARE_CAP = 0.5  # launches never take more than this share of events
RUG_CHANCE = 0.3
RUG_AGE_S = (20.0, 120.0)
DEV_BUY_SOL = (0.5, 3.0)
LAUNCH_BUY_MEDIAN_SOL = 0.4
LAUNCH_SELL_MEDIAN_SOL = 0.3
MOMENTUM_DECAY_S = 40.0


def _address(*parts: object) -> str:
    return str(Pubkey(hashlib.sha256("|".join(map(str, parts)).encode()).digest()))


def _flow_push(spec: PairSpec, buy_tilt: float) -> float:
    """Log-price drift per second that one-sided noise flow (f = 1) exerts on the pair's pools.

    A constant-product pool's log price moves by about 2 * dQ / Q for dQ of quote traded against it.
    The fair price's flow drift (kappa) is set to this, scaled by FLOW_IMPACT_PERMANENCE: order flow
    carries information, so its impact is permanent rather than pushed back by arbitrageurs.
    """
    net_quote_per_s = spec.volume_quote_per_s * 2.0 * buy_tilt
    return sum(
        share * net_quote_per_s * 2.0 / spec.depth_quote[venue] for venue, share in VENUE_SHARE.items()
    )


@dataclass
class _Pool:
    pair: str
    venue: str
    address: str
    spec: PairSpec
    fee_bps: int
    base_reserve: int
    quote_reserve: int
    ts_ms: int

    def raw_price(self) -> float:
        """Quote raw units per base raw unit."""
        return self.quote_reserve / self.base_reserve


@dataclass
class _Coin:
    """A live Pump.fun coin and what drives its traders."""

    number: int
    symbol: str
    mint: str
    curve_address: str
    curve: bc.Curve
    born_s: float
    hype: float  # scales early buying pressure and intensity
    rug_at_s: float | None
    rugged: bool = False
    dev_buy_done: bool = False
    ts_ms: int = 0

    def intensity(self, t_s: float) -> float:
        """Events per second on this coin: a burst at launch that decays, near silence after a rug."""
        age = t_s - self.born_s
        if self.rugged:
            return 0.2
        return 0.3 + 8.0 * self.hype * math.exp(-age / 45.0)

    def buy_probability(self, t_s: float, random_walk: bool = False) -> float:
        """Early hype makes buyers outnumber sellers (momentum); a random walk has none: a fair coin."""
        if random_walk:
            return 0.5
        if self.rugged:
            return 0.25
        age = t_s - self.born_s
        return min(0.95, max(0.05, 0.40 + 0.5 * self.hype * math.exp(-age / MOMENTUM_DECAY_S)))


class MarketSimulator:
    """An infinite, deterministic stream of swaps and launches for the given seed and start time."""

    def __init__(
        self,
        *,
        seed: int,
        pairs: Sequence[str] = ("SOL/USDC", "JUP/USDC", "BONK/SOL"),
        rate_eps: float = 300.0,
        random_walk: bool = False,
        start_ms: int,
        launches: bool = True,
        pumpfun_fee_bps: int = 125,
        launch_gap_s: tuple[float, float] = LAUNCH_GAP_S,
    ) -> None:
        unknown = [p for p in pairs if p not in PAIRS]
        if unknown:
            raise ValueError(f"unknown pair(s) {unknown}; known pairs: {sorted(PAIRS)}")
        if not pairs:
            raise ValueError("at least one pair is needed")
        if rate_eps <= 0:
            raise ValueError(f"rate_eps must be positive, got {rate_eps}")
        self.seed = seed
        self.pairs = tuple(dict.fromkeys(pairs))
        self.rate_eps = rate_eps
        self.random_walk = random_walk
        self.start_ms = start_ms
        self.launches = launches
        self.pumpfun_fee_bps = pumpfun_fee_bps
        self.launch_gap_s = launch_gap_s  # seconds between launches, drawn uniformly in this range
        self._draws = Draws(np.random.Generator(np.random.PCG64(seed)))
        self._t = 0.0  # event time, seconds since start
        self._ts_ms = start_ms
        self._n = 0  # events emitted: drives signatures
        total_weight = sum(PAIRS[p].weight for p in self.pairs)
        self._processes: dict[str, FairPriceProcess] = {}
        self._pools: dict[str, list[_Pool]] = {}
        self._median_quote: dict[str, float] = {}
        self._pair_cdf: list[tuple[float, str]] = []
        acc = 0.0
        for pair in self.pairs:
            spec = PAIRS[pair]
            share = spec.weight / total_weight
            acc += share
            self._pair_cdf.append((acc, pair))
            # sizes shrink as the event rate grows, so a pair's volume (and price impact) per second of
            # event time does not depend on rate_eps
            trades_per_s = rate_eps * share
            mean_size = spec.volume_quote_per_s / trades_per_s
            self._median_quote[pair] = mean_size / math.exp(TRADE_SIZE_SIGMA**2 / 2)
            params = ProcessParams(vol_scale=spec.vol_scale)
            params = replace(params, kappa=FLOW_IMPACT_PERMANENCE * _flow_push(spec, params.buy_tilt))
            # each pair's fair price has its own stream, so adding a pair does not change another's path
            stream = np.random.SeedSequence(seed, spawn_key=(zlib.crc32(pair.encode()),))
            self._processes[pair] = FairPriceProcess(
                price=spec.price,
                rng=np.random.Generator(np.random.PCG64(stream)),
                params=params,
                random_walk=random_walk,
            )
            self._pools[pair] = [self._make_pool(pair, spec, venue) for venue in VENUE_FEES_BPS]
        self._coins: list[_Coin] = []
        self._launched = 0
        self._next_launch_s = self._uniform(*launch_gap_s)

    def _make_pool(self, pair: str, spec: PairSpec, venue: str) -> _Pool:
        quote_human = spec.depth_quote[venue]
        return _Pool(
            pair=pair,
            venue=venue,
            address=_address(self.seed, "pool", venue, pair),
            spec=spec,
            fee_bps=VENUE_FEES_BPS[venue],
            base_reserve=round(quote_human / spec.price * 10**spec.base_decimals),
            quote_reserve=round(quote_human * 10**spec.quote_decimals),
            ts_ms=self.start_ms,
        )

    # -- public ------------------------------------------------------------------------------------

    def events(self) -> Iterator[Swap | Launch]:
        """Never ends; the caller decides how many to take."""
        draws = self._draws
        while True:
            self._t += draws.exponential() / self.rate_eps
            self._ts_ms = self.start_ms + int(self._t * 1000.0)
            self._n += 1
            if self.launches:
                if self._t >= self._next_launch_s:
                    self._next_launch_s = self._t + self._uniform(*self.launch_gap_s)
                    yield self._launch()
                    continue
                coin = self._pick_coin()
                if coin is not None:
                    swap = self._coin_trade(coin)
                    if swap is not None:
                        yield swap
                        continue
            yield self._pair_event()

    def pools(self) -> list[PoolState]:
        """Every live pool and bonding curve as of the last event."""
        states = [
            PoolState(
                venue=p.venue,
                pool=p.address,
                base_mint=p.spec.base_mint,
                quote_mint=p.spec.quote_mint,
                base_decimals=p.spec.base_decimals,
                quote_decimals=p.spec.quote_decimals,
                base_reserve=p.base_reserve,
                quote_reserve=p.quote_reserve,
                fee_bps=p.fee_bps,
                ts_ms=p.ts_ms,
            )
            for pair in self.pairs
            for p in self._pools[pair]
        ]
        states.extend(
            PoolState(
                venue=PUMPFUN,
                pool=c.curve_address,
                base_mint=c.mint,
                quote_mint=WSOL,
                base_decimals=bc.TOKEN_DECIMALS,
                quote_decimals=9,
                base_reserve=c.curve.virtual_token_reserves,
                quote_reserve=c.curve.virtual_sol_reserves,
                fee_bps=self.pumpfun_fee_bps,
                real_base_reserve=c.curve.real_token_reserves,
                ts_ms=c.ts_ms,
            )
            for c in self._coins
        )
        return states

    def fair_price(self, pair: str) -> float:
        """The hidden fair price (quote per base, human units) at the last event: for tests and demos."""
        return self._processes[pair].price

    # -- major pairs -------------------------------------------------------------------------------

    def _pair_event(self) -> Swap:
        u = self._draws.uniform()
        pair = self._pair_cdf[-1][1]
        for edge, name in self._pair_cdf:
            if u < edge:
                pair = name
                break
        process = self._processes[pair]
        fair = process.advance(self._t)
        pools = self._pools[pair]
        if self._draws.uniform() < ARB_SHARE:
            swap = self._arbitrage(pools, fair)
            if swap is not None:
                return swap
        pool = pools[0] if self._draws.uniform() < VENUE_SHARE[pools[0].venue] else pools[1]
        spec = pool.spec
        size_quote = self._median_quote[pair] * math.exp(TRADE_SIZE_SIGMA * self._draws.normal())
        if self._draws.uniform() < process.buy_probability:
            return self._amm_trade(pool, "buy", max(1, int(size_quote * 10**spec.quote_decimals)))
        base_in = size_quote * 10**spec.quote_decimals / pool.raw_price()
        return self._amm_trade(pool, "sell", max(1, int(base_in)))

    def _arbitrage(self, pools: list[_Pool], fair: float) -> Swap | None:
        """Trade the pool furthest outside its band back to the band's edge, if any is outside."""
        spec = pools[0].spec
        fair_raw = fair * 10**spec.quote_decimals / 10**spec.base_decimals
        best: tuple[float, _Pool] | None = None
        for pool in pools:
            gap = abs(math.log(pool.raw_price() / fair_raw)) * 1e4 - pool.fee_bps - ARB_MARGIN_BPS
            if gap > 0 and (best is None or gap > best[0]):
                best = (gap, pool)
        if best is None:
            return None
        pool = best[1]
        fee = pool.fee_bps / 1e4
        k = pool.base_reserve * pool.quote_reserve
        if pool.raw_price() < fair_raw:  # base cheap here: buy it until its marginal cost reaches fair
            target_quote = math.sqrt(k * fair_raw * (1.0 - fee))
            amount = int(target_quote - pool.quote_reserve)
            return self._amm_trade(pool, "buy", amount) if amount > 0 else None
        target_base = math.sqrt(k / (fair_raw / (1.0 - fee)))
        amount = int(target_base - pool.base_reserve)
        return self._amm_trade(pool, "sell", amount) if amount > 0 else None

    def _amm_trade(self, pool: _Pool, side: str, amount_in: int) -> Swap:
        spec = pool.spec
        if side == "buy":
            res = amm.swap(amount_in, pool.quote_reserve, pool.base_reserve, pool.fee_bps)
            pool.quote_reserve, pool.base_reserve = res.reserve_in_after, res.reserve_out_after
            base_amount, quote_amount = res.amount_out, res.amount_in
        else:
            res = amm.swap(amount_in, pool.base_reserve, pool.quote_reserve, pool.fee_bps)
            pool.base_reserve, pool.quote_reserve = res.reserve_in_after, res.reserve_out_after
            base_amount, quote_amount = res.amount_in, res.amount_out
        pool.ts_ms = self._ts_ms
        return Swap(
            venue=pool.venue,
            pool=pool.address,
            pair=pool.pair,
            base_mint=spec.base_mint,
            quote_mint=spec.quote_mint,
            base_decimals=spec.base_decimals,
            quote_decimals=spec.quote_decimals,
            side=side,
            base_amount=base_amount,
            quote_amount=quote_amount,
            base_reserve=pool.base_reserve,
            quote_reserve=pool.quote_reserve,
            fee_bps=pool.fee_bps,
            slot=self._slot(),
            ts_ms=self._ts_ms,
            received_ms=self._ts_ms,
            signature=self._signature(),
        )

    # -- Pump.fun ----------------------------------------------------------------------------------

    def _launch(self) -> Launch:
        self._launched += 1
        n = self._launched
        # the oldest coins go quiet first, so the number of live pairs stays bounded
        while len(self._coins) >= MAX_LIVE_LAUNCHES:
            self._coins.pop(0)
        mint = _address(self.seed, "mint", n)
        curve_address, _ = Pubkey.find_program_address(
            [b"bonding-curve", bytes(Pubkey.from_string(mint))], PUMP_PROGRAM
        )
        creator = _address(self.seed, "creator", n)
        # a random walk has no rugs: a dump at a drawn age is a predictable move (the draw stays, so the
        # rest of the stream is the same)
        rug = self._draws.uniform() < RUG_CHANCE and not self.random_walk
        coin = _Coin(
            number=n,
            symbol=f"PUMP{n}",
            mint=mint,
            curve_address=str(curve_address),
            curve=bc.Curve.initial(),
            born_s=self._t,
            # most coins fizzle, a few run: hype is skewed toward zero
            hype=1.1 * self._draws.uniform() ** 2,
            rug_at_s=self._t + self._uniform(*RUG_AGE_S) if rug else None,
            ts_ms=self._ts_ms,
        )
        self._coins.append(coin)
        return Launch(
            mint=mint,
            bonding_curve=coin.curve_address,
            name=f"Pump Coin {n}",
            symbol=coin.symbol,
            creator=creator,
            virtual_base_reserve=coin.curve.virtual_token_reserves,
            virtual_quote_reserve=coin.curve.virtual_sol_reserves,
            real_base_reserve=coin.curve.real_token_reserves,
            total_supply=bc.TOKEN_TOTAL_SUPPLY,
            slot=self._slot(),
            ts_ms=self._ts_ms,
            received_ms=self._ts_ms,
            signature=self._signature(),
        )

    def _pick_coin(self) -> _Coin | None:
        """A coin to trade this event, with chance proportional to its intensity; None for a major pair."""
        coins = self._coins
        if not coins:
            return None
        t = self._t
        coins[:] = [c for c in coins if not c.curve.complete and t - c.born_s < LAUNCH_MAX_AGE_S]
        if not coins:
            return None
        rates = [c.intensity(t) for c in coins]
        total = sum(rates)
        share = min(LAUNCH_SHARE_CAP, total / self.rate_eps)
        u = self._draws.uniform()
        if u >= share:
            return None
        target = u / share * total
        for coin, rate in zip(coins, rates, strict=True):
            target -= rate
            if target < 0:
                return coin
        return coins[-1]

    def _coin_trade(self, coin: _Coin) -> Swap | None:
        t = self._t
        curve = coin.curve
        circulating = bc.INITIAL_REAL_TOKEN_RESERVES - curve.real_token_reserves
        if not coin.dev_buy_done:
            coin.dev_buy_done = True
            return self._coin_buy(coin, self._uniform(*DEV_BUY_SOL))
        if coin.rug_at_s is not None and not coin.rugged and t >= coin.rug_at_s and circulating > 0:
            coin.rugged = True
            # insiders dump almost everything bought so far: the price falls back toward the launch price
            return self._coin_sell(coin, int(circulating * self._uniform(0.85, 0.95)))
        if self._draws.uniform() < coin.buy_probability(t, self.random_walk) or circulating <= 0:
            size = LAUNCH_BUY_MEDIAN_SOL * math.exp(self._draws.normal())
            return self._coin_buy(coin, size)
        # a random walk sells the same sizes it buys, so neither side drifts the curve's price
        median = LAUNCH_BUY_MEDIAN_SOL if self.random_walk else LAUNCH_SELL_MEDIAN_SOL
        size = median * math.exp(self._draws.normal())
        tokens = min(int(size * 1e9 / curve.spot_price()), circulating // 2)
        return self._coin_sell(coin, tokens)

    def _coin_buy(self, coin: _Coin, sol: float) -> Swap | None:
        tokens, net, _fee = bc.buy_with_sol(coin.curve, int(sol * 1e9), self.pumpfun_fee_bps)
        if tokens <= 0:
            return None
        coin.curve = bc.apply_buy(coin.curve, tokens, net)
        return self._coin_swap(coin, "buy", tokens, net)

    def _coin_sell(self, coin: _Coin, tokens: int) -> Swap | None:
        gross, _fee = bc.sell_proceeds(coin.curve, tokens, self.pumpfun_fee_bps)
        if tokens <= 0 or gross <= 0:
            return None
        coin.curve = bc.apply_sell(coin.curve, tokens, gross)
        return self._coin_swap(coin, "sell", tokens, gross)

    def _coin_swap(self, coin: _Coin, side: str, tokens: int, sol: int) -> Swap:
        coin.ts_ms = self._ts_ms
        curve = coin.curve
        return Swap(
            venue=PUMPFUN,
            pool=coin.curve_address,
            pair=f"{coin.symbol}/SOL",
            base_mint=coin.mint,
            quote_mint=WSOL,
            base_decimals=bc.TOKEN_DECIMALS,
            quote_decimals=9,
            side=side,
            base_amount=tokens,
            quote_amount=sol,
            base_reserve=curve.virtual_token_reserves,
            quote_reserve=curve.virtual_sol_reserves,
            fee_bps=self.pumpfun_fee_bps,
            slot=self._slot(),
            ts_ms=self._ts_ms,
            received_ms=self._ts_ms,
            signature=self._signature(),
            real_base_reserve=curve.real_token_reserves,
        )

    # -- identifiers and draws ---------------------------------------------------------------------

    def _slot(self) -> int:
        return FIRST_SLOT + (self._ts_ms - self.start_ms) // SLOT_MS

    def _signature(self) -> str:
        digest = hashlib.sha512(f"{self.seed}|sig|{self._n}".encode()).digest()
        return str(Signature.from_bytes(digest))

    def _uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self._draws.uniform()
