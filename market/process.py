"""The hidden fair-price process of one simulated pair: what arbitrageurs pull the pools toward.

A pure random walk would leave the bot nothing to learn, so the process has a predictable part: an
order-flow imbalance state that both tilts noise traders towards buying or selling and drifts the fair
price in the same direction for the next several seconds. Recent net buying seen in the swaps therefore
predicts further rise over the next ~10 s; regimes and volatility clustering make that signal noisy.

Time is event time in seconds; the price moves continuously between events, while the slow latent
states (regime, GARCH variance, flow) update on a 1 s heartbeat, so their dynamics do not depend on the
event rate. With x = log fair price, and for each event step of length dt inside heartbeat second k:

    dx    = (mu_r * d + kappa * f_k - h_k / 2) * dt + sqrt(h_k * dt) * z,        z ~ N(0, 1)
    h_k+1 = (1 - alpha - beta) * sbar_r^2 + alpha * R_k^2 + beta * h_k         (GARCH(1,1) on 1 s returns)
    f_k+1 = clip(rho * f_k + sigma_f * eta, -1, 1),                           eta ~ N(0, 1)
    r_k+1 ~ Markov chain with P(stay in r) = stay_r per second; d = +-1 drawn on entering "trending"

R_k is the diffusion part of second k's log return; h is a per-second variance. Noise traders buy with
probability 0.5 + buy_tilt * f. kappa is the permanent impact of order flow: the simulator sets it per
pair to the drift that one-sided noise flow pushes onto that pair's pools (`simulator._flow_push`, about
1.4e-4 to 2.4e-4 per s), so flow-driven pool moves stick instead of being arbitraged away. Defaults
(vol_scale multiplies every sbar and mu; per pair in the simulator: SOL 1.0, JUP 1.6, BONK 2.2):

    | regime   | sbar (per sqrt s) | mu (per s) | stay (per s) |   | parameter | default |
    |----------|-------------------|------------|--------------|   |-----------|---------|
    | calm     | 2.0e-4            | 0          | 0.990        |   | alpha     | 0.10    |
    | trending | 3.0e-4            | 2.0e-5     | 0.980        |   | beta      | 0.85    |
    | volatile | 6.0e-4            | 0          | 0.970        |   | rho       | 0.92    |
                                                                      | sigma_f   | 0.25    |
                                                                      | kappa     | 6.0e-5  |
                                                                      | buy_tilt  | 0.15    |

`random_walk=True` gives constant-volatility GBM (sbar = 3.0e-4 * vol_scale, no regimes, no GARCH) with
f fixed at 0: no flow drift and unbiased noise traders, so nothing in the swaps predicts the next move.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

_BATCH = 4096


class Draws:
    """Random numbers drawn from numpy in batches, handed out one at a time as Python floats.

    A numpy call per event costs more than the rest of an event's work, so draws are batched.
    """

    __slots__ = ("_exp", "_exp_i", "_norm", "_norm_i", "_rng", "_unif", "_unif_i")

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._norm: list[float] = []
        self._unif: list[float] = []
        self._exp: list[float] = []
        self._norm_i = self._unif_i = self._exp_i = 0

    def normal(self) -> float:
        if self._norm_i >= len(self._norm):
            self._norm = self._rng.standard_normal(_BATCH).tolist()
            self._norm_i = 0
        v = self._norm[self._norm_i]
        self._norm_i += 1
        return v

    def uniform(self) -> float:
        if self._unif_i >= len(self._unif):
            self._unif = self._rng.random(_BATCH).tolist()
            self._unif_i = 0
        v = self._unif[self._unif_i]
        self._unif_i += 1
        return v

    def exponential(self) -> float:
        if self._exp_i >= len(self._exp):
            self._exp = self._rng.standard_exponential(_BATCH).tolist()
            self._exp_i = 0
        v = self._exp[self._exp_i]
        self._exp_i += 1
        return v


class Regime(IntEnum):
    CALM = 0
    TRENDING = 1
    VOLATILE = 2


@dataclass(frozen=True)
class ProcessParams:
    """Defaults as in the module docstring; per-second units throughout."""

    sbar: tuple[float, float, float] = (2.0e-4, 3.0e-4, 6.0e-4)
    mu: tuple[float, float, float] = (0.0, 2.0e-5, 0.0)
    stay: tuple[float, float, float] = (0.990, 0.980, 0.970)
    alpha: float = 0.10
    beta: float = 0.85
    rho: float = 0.92
    sigma_f: float = 0.25
    kappa: float = 6.0e-5
    buy_tilt: float = 0.15
    random_walk_sbar: float = 3.0e-4
    vol_scale: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha + self.beta < 1.0:
            raise ValueError("alpha + beta must be in [0, 1) for a stationary GARCH variance")
        if not 0.0 <= self.rho < 1.0:
            raise ValueError("rho must be in [0, 1)")


class FairPriceProcess:
    """One pair's fair price, advanced to any later event time; deterministic given its generator."""

    def __init__(
        self,
        *,
        price: float,
        rng: np.random.Generator,
        params: ProcessParams | None = None,
        random_walk: bool = False,
        t_s: float = 0.0,
    ) -> None:
        if price <= 0.0:
            raise ValueError(f"price must be positive, got {price}")
        self.params = p = params or ProcessParams()
        self.random_walk = random_walk
        self._draws = Draws(rng)
        self._x = math.log(price)
        self._t = t_s
        self._next_tick = math.floor(t_s) + 1.0
        self._sbar = tuple(s * p.vol_scale for s in p.sbar)
        self._mu = tuple(m * p.vol_scale for m in p.mu)
        self.regime = Regime.CALM
        self._direction = 1.0
        if random_walk:
            rw = p.random_walk_sbar * p.vol_scale
            self._h = rw * rw
        else:
            self._h = self._sbar[0] ** 2
        self.flow = 0.0
        self._r_acc = 0.0  # diffusion return accumulated in the current heartbeat second

    @property
    def t_s(self) -> float:
        return self._t

    @property
    def price(self) -> float:
        return math.exp(self._x)

    @property
    def log_price(self) -> float:
        return self._x

    @property
    def volatility(self) -> float:
        """Current per-sqrt-second volatility of the fair log price."""
        return math.sqrt(self._h)

    @property
    def buy_probability(self) -> float:
        """Chance that a noise trader buys base right now."""
        return 0.5 + self.params.buy_tilt * self.flow

    def advance(self, t_s: float) -> float:
        """Move to event time `t_s` (never backwards) and return the fair price there."""
        if t_s < self._t:
            raise ValueError(f"time went backwards: {t_s} < {self._t}")
        while self._next_tick <= t_s:
            self._diffuse(self._next_tick - self._t)
            self._t = self._next_tick
            self._next_tick += 1.0
            self._heartbeat()
        self._diffuse(t_s - self._t)
        self._t = t_s
        return math.exp(self._x)

    def _diffuse(self, dt: float) -> None:
        if dt <= 0.0:
            return
        h = self._h
        shock = math.sqrt(h * dt) * self._draws.normal()
        drift = -0.5 * h
        if not self.random_walk:
            drift += self._mu[self.regime] * self._direction + self.params.kappa * self.flow
        self._x += drift * dt + shock
        self._r_acc += shock

    def _heartbeat(self) -> None:
        if self.random_walk:
            self._r_acc = 0.0
            return
        p = self.params
        sbar = self._sbar[self.regime]
        self._h = (1.0 - p.alpha - p.beta) * sbar * sbar + p.alpha * self._r_acc**2 + p.beta * self._h
        self._r_acc = 0.0
        self.flow = min(1.0, max(-1.0, p.rho * self.flow + p.sigma_f * self._draws.normal()))
        u = self._draws.uniform()
        stay = p.stay[self.regime]
        if u >= stay:
            # leave to one of the other two regimes with equal chance
            others = [r for r in Regime if r != self.regime]
            self.regime = others[0] if (u - stay) < (1.0 - stay) / 2 else others[1]
            if self.regime is Regime.TRENDING:
                self._direction = 1.0 if self._draws.uniform() < 0.5 else -1.0
