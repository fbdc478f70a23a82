"""Customers: each an agent with its own state and choices, stored as arrays.

Every customer has an age band, an area (urban or rural), digital literacy that grows
over time, wealth, a sensitivity to yield, ties to other customers, a primary bank, an
active channel (branch counter, PC banking, the bank's mobile app, or a platform's
app), the platform account it holds, a money-market fund balance, and awareness of
each provider. Each month a customer reconsiders with some probability and picks one
alternative from the menu (each bank's branch, PC and mobile channels, and each
platform's app) by a multinomial logit rule; the decisions of all reconsidering
customers are drawn in one vectorized step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import AGE_BANDS, CHANNELS, TX_CHANNELS, Config
from .ties import homophilous_ties

BRANCH, PC, MOBILE, PLATFORM = range(4)
TX_PLACES = ("counter", "self_service", "pc", "mobile", "platform_link")  # branch splits into the first two
N_SEGMENTS = 2 * len(AGE_BANDS)      # age band x (rural, urban)


@dataclass
class Menu:
    """The alternatives open this month and their institution-level terms (one entry each)."""
    bank: np.ndarray            # bank index, -1 for a platform's app
    platform: np.ndarray        # platform index, -1 for a bank channel
    channel: np.ndarray         # BRANCH, PC, MOBILE or PLATFORM
    provider: np.ndarray        # index into banks followed by platforms
    category: np.ndarray        # channel for bank channels, 3 + platform for platform apps
    available: np.ndarray       # launched, and has branches for a branch alternative
    utility: np.ndarray         # terms common to all customers (constant, app, tech, marketing, friction)
    literacy_weight: np.ndarray
    branch_presence: np.ndarray  # utils from the branch network, branch alternatives only
    yield_term: np.ndarray      # yield weight x yield, before the customer's sensitivity
    bank_switch_cost: float     # utils to change primary bank (scaled)
    opening_extra: np.ndarray   # extra utils to open an account with this alternative's bank
    leave_cost: np.ndarray      # (n_banks,) extra utils to leave each bank (scaled)
    platform_switch_cost: float
    platform_partner: np.ndarray  # (n_platforms,) partner bank index or -1
    partnership_discount: float


@dataclass
class ChoiceOutcome:
    reconsidered: int
    channel_flows: np.ndarray   # (4, 4) customers moving from channel (row) to channel (column)
    bank_switches: int
    platform_switches: int      # changes of platform account, first adoptions included


class Customers:
    """The customer population."""

    def __init__(self, cfg: Config, bank_shares: np.ndarray, bank_awareness: np.ndarray,
                 platform_awareness: np.ndarray, rng: np.random.Generator):
        p = cfg.population
        n = p.size
        self.size = n
        self.cfg = cfg
        self.n_banks, self.n_platforms = bank_shares.size, platform_awareness.size
        self.age = rng.choice(len(AGE_BANDS), size=n, p=np.asarray(p.age_shares) / sum(p.age_shares)).astype(np.int8)
        self.urban = rng.random(n) < p.urban_share
        self.segment = (self.age * 2 + self.urban).astype(np.int8)
        lit = (np.asarray(p.literacy_mean_by_age)[self.age] + p.literacy_urban_bonus * self.urban
               + p.literacy_sd * rng.standard_normal(n))
        self.literacy0 = np.clip(lit, 0, 1).astype(np.float32)
        self.literacy_growth = np.asarray(p.literacy_growth_by_age, dtype=np.float32)
        median = np.where(self.urban, p.wealth_median_urban, p.wealth_median_rural)
        self.wealth = (median * np.exp(p.wealth_sigma * rng.standard_normal(n))).astype(np.float64)
        tilt = np.array([0.1, 0.05, 0.0, -0.1])[self.age]
        self.yield_sensitivity = np.clip(rng.beta(2, 2, n) + tilt, 0, 1).astype(np.float32)
        self.members_by_age = [np.flatnonzero(self.age == k).astype(np.int32) for k in range(len(AGE_BANDS))]
        self.ties = homophilous_ties(self.segment.astype(np.int64), p.ties_per_customer, p.tie_homophily, rng)

        self.bank = rng.choice(self.n_banks, size=n, p=bank_shares).astype(np.int8)
        self.channel = self._initial_channels(p.initial_channel_shares, rng)
        on_platform = self.channel == PLATFORM
        self.platform = np.full(n, -1, dtype=np.int8)
        if on_platform.any():
            weights = platform_awareness / platform_awareness.sum()
            self.platform[on_platform] = rng.choice(self.n_platforms, size=int(on_platform.sum()), p=weights)
        self.mmf = np.zeros(n, dtype=np.float64)
        # tickets scale with wealth relative to the starting population's; all wealth grows at one
        # rate, so wealth ** elasticity is kept as its start value times one common factor
        self.wealth_power0 = self.wealth ** cfg.transactions.wealth_ticket_elasticity
        self.wealth_power_factor = 1.0
        self.wealth_reference = float(np.mean(self.wealth_power0))

        aware_p = np.concatenate([bank_awareness, platform_awareness])
        self.aware = rng.random((aware_p.size, n), dtype=np.float32) < aware_p[:, None]   # (provider, customer)
        self.aware[self.bank, np.arange(n)] = True
        self.aware[self.n_banks + self.platform[on_platform], on_platform] = True

    def _initial_channels(self, shares: dict, rng: np.random.Generator) -> np.ndarray:
        """The most digitally literate start on the most digital channels."""
        score = self.literacy0 + 0.15 * rng.standard_normal(self.size, dtype=np.float32)
        rank = np.empty(self.size, dtype=np.float32)
        rank[np.argsort(score)] = np.arange(self.size, dtype=np.float32) / self.size
        cuts = np.cumsum([shares[c] for c in CHANNELS])[:-1]
        return np.searchsorted(cuts, rank, side="right").astype(np.int8)

    # ------------------------------------------------------------------ derived state
    @property
    def category(self) -> np.ndarray:
        """Channel for bank channels, 3 + platform index for platform apps."""
        return np.where(self.channel == PLATFORM, PLATFORM + self.platform, self.channel).astype(np.int8)

    def literacy(self, years: float, who: np.ndarray | slice = slice(None)) -> np.ndarray:
        return np.minimum(1.0, self.literacy0[who] + self.literacy_growth[self.age[who]] * years)

    @property
    def deposits(self) -> np.ndarray:
        """Balance held at the primary bank, RMB."""
        return self.wealth - self.mmf

    # ------------------------------------------------------------------ monthly steps
    def update_awareness(self, prob: np.ndarray, rng: np.random.Generator) -> None:
        """Unaware customers learn of provider k with probability prob[k, segment].

        Only customers still unaware of k draw, so the cost falls as awareness spreads.
        """
        prob = prob.astype(np.float32)
        for k in range(self.aware.shape[0]):
            if not prob[k].any():
                continue
            unaware = np.flatnonzero(~self.aware[k])
            learn = rng.random(unaware.size, dtype=np.float32) < prob[k][self.segment[unaware]]
            self.aware[k, unaware[learn]] = True

    def make_aware_of(self, provider: int, who: np.ndarray) -> None:
        self.aware[provider, who] = True

    def reconsider(self, menu: Menu, years: float, rng: np.random.Generator) -> ChoiceOutcome:
        """Customers who reconsider this month pick an alternative by multinomial logit."""
        c = self.cfg.customers
        # each customer reconsiders with its age band's probability: drawn as a binomial count per
        # band and a uniform choice of that many members, which has the same distribution
        picked = []
        for band, members in enumerate(self.members_by_age):
            count = rng.binomial(members.size, c.reconsider_prob_by_age[band])
            picked.append(members[rng.choice(members.size, size=count, replace=False)])
        who = np.sort(np.concatenate(picked))
        m = who.size
        flows = np.zeros((4, 4), dtype=np.int64)
        if m == 0:
            return ChoiceOutcome(0, flows, 0, 0)
        age, urban = self.age[who], self.urban[who]
        bank, platform, channel = self.bank[who], self.platform[who], self.channel[who]
        own_category = np.where(channel == PLATFORM, PLATFORM + platform, channel)

        v = np.empty((m, menu.utility.size), dtype=np.float32)
        v[:] = menu.utility
        v += self.literacy(years, who)[:, None] * menu.literacy_weight
        v += np.asarray(c.age_branch_preference)[age][:, None] * (menu.channel == BRANCH)
        v += (1 + c.rural_branch_multiplier * ~urban)[:, None] * menu.branch_presence
        v += self.yield_sensitivity[who][:, None] * menu.yield_term
        k_ties = self.ties.shape[1]
        if k_ties:
            ties = self.ties[who]
            t_channel, t_platform = self.channel[ties], self.platform[ties]
            tie_category = np.where(t_channel == PLATFORM, PLATFORM + t_platform, t_channel).astype(np.int64)
            n_cat = PLATFORM + self.n_platforms
            rows = np.repeat(np.arange(m) * n_cat, k_ties)
            tie_share = np.bincount(rows + tie_category.ravel(), minlength=m * n_cat).reshape(m, n_cat) / k_ties
            v += c.tie_weight * tie_share[:, menu.category]

        is_bank_alt = menu.bank >= 0
        changes_bank = is_bank_alt & (menu.bank != bank[:, None])
        cost = (menu.bank_switch_cost + menu.leave_cost[bank])[:, None] + menu.opening_extra
        partner = np.where(platform >= 0, menu.platform_partner[platform], -1)
        cost = np.where(menu.bank == partner[:, None], cost * (1 - menu.partnership_discount), cost)
        v -= changes_bank * cost
        v -= ((menu.platform >= 0) & (menu.platform != platform[:, None])) * menu.platform_switch_cost
        v -= c.habit * (menu.category != own_category[:, None])

        allowed = self.aware[:, who][menu.provider].T & menu.available
        v[~allowed] = -np.inf
        v -= v.max(axis=1, keepdims=True)
        np.exp(v, out=v)
        np.cumsum(v, axis=1, out=v)
        u = rng.random(m, dtype=np.float32) * v[:, -1]
        pick = (v < u[:, None]).sum(axis=1)

        new_bank = np.where(is_bank_alt[pick], menu.bank[pick], bank).astype(np.int8)
        new_platform = np.where(menu.platform[pick] >= 0, menu.platform[pick], platform).astype(np.int8)
        new_channel = menu.channel[pick].astype(np.int8)
        np.add.at(flows, (channel, new_channel), 1)
        np.fill_diagonal(flows, 0)
        outcome = ChoiceOutcome(m, flows, int((new_bank != bank).sum()), int((new_platform != platform).sum()))
        self.bank[who], self.platform[who], self.channel[who] = new_bank, new_platform, new_channel
        return outcome

    def update_balances(self, mmf_yield: np.ndarray, deposit_rate: np.ndarray,
                        purchase_limit: float | None) -> float:
        """Move savings toward each fund holder's target; grow wealth. Returns the inflow, RMB."""
        mk = self.cfg.market
        holder = self.platform >= 0
        idx = np.flatnonzero(holder)
        spread = mmf_yield[self.platform[idx]] - deposit_rate[self.bank[idx]]
        share = np.clip(mk.mmf_base_share + mk.mmf_share_per_point * self.yield_sensitivity[idx] * spread,
                        0.0, mk.mmf_max_share)
        share = np.where(self.channel[idx] == PLATFORM, share, share * mk.mmf_dormant_factor)
        target = share * self.wealth[idx]
        if purchase_limit is not None:
            target = np.minimum(target, purchase_limit)
        self.mmf[idx] += mk.mmf_adjust_rate * (target - self.mmf[idx])
        growth = (1 + self.cfg.population.wealth_growth) ** (1 / 12) - 1
        inflow = float(self.wealth.sum()) * growth
        self.wealth *= 1 + growth
        self.wealth_power_factor *= (1 + growth) ** self.cfg.transactions.wealth_ticket_elasticity
        return inflow

    def transactions(self, self_service_share: np.ndarray, mobile_maturity: float, rng: np.random.Generator):
        """Bank transactions this month by where they are made, per bank.

        Each customer makes a Poisson number of transactions with a mean set by its active
        channel and age band (mobile and platform users transact more as mobile payments
        mature: `mobile_maturity` in [0, 1]), split across counter, self-service, PC, mobile and
        platform-linked payments by its channel's mix and its bank's share of machines in
        branches. A sum of independent Poisson counts is Poisson, so each bank's count per
        place is drawn once from the summed mean; values are counts times the mean ticket,
        which grows with the customer's wealth.

        Returns (counts, values): arrays of shape (n_banks, 5) in the order counter,
        self_service, pc, mobile, platform_link; values in RMB per simulated customer scale.
        """
        t = self.cfg.transactions
        nb = self.n_banks
        key = (self.channel.astype(np.int64) * nb + self.bank) * len(AGE_BANDS) + self.age
        size = 4 * nb * len(AGE_BANDS)
        people = np.bincount(key, minlength=size).reshape(4, nb, len(AGE_BANDS))
        wealth_factor = np.bincount(key, weights=self.wealth_power0, minlength=size) * self.wealth_power_factor
        wealth_factor = wealth_factor.reshape(4, nb, len(AGE_BANDS)) / self.wealth_reference

        growth = 1 + t.digital_count_growth * mobile_maturity
        count = [t.monthly_count[ch] * (growth if ch in ("mobile", "platform") else 1.0) for ch in CHANNELS]
        per_person = np.outer(count, t.age_count_factor)  # (channel, age)
        mix = np.array([[t.mix[ch][x] for x in TX_CHANNELS] for ch in CHANNELS])
        # expected counts and wealth-weighted counts per (bank, place of transaction)
        exp_count = np.einsum("cba,ca,cx->bx", people, per_person, mix)
        exp_weighted = np.einsum("cba,ca,cx->bx", wealth_factor, per_person, mix)
        ss = self_service_share[:, None]
        split = lambda a: np.concatenate([a[:, :1] * (1 - ss), a[:, :1] * ss, a[:, 1:]], axis=1)
        exp_count, exp_weighted = split(exp_count), split(exp_weighted)
        counts = rng.poisson(exp_count).astype(np.float64)
        ticket = np.array([t.ticket_rmb[x] for x in TX_PLACES])
        mean_ticket = np.divide(exp_weighted, exp_count, out=np.zeros_like(exp_count), where=exp_count > 0) * ticket
        return counts, counts * mean_ticket
