"""Customers: each an agent with its own state and choices, stored as arrays.

Every customer has an age band, an area (urban or rural), digital literacy that grows
over time, wealth, a sensitivity to yield, ties to other customers, a primary bank, a
preferred channel (branch counter, PC banking, the bank's mobile app, or a platform's
app) and the platform of that choice, and awareness of each provider. Each month a
customer reconsiders with some probability and picks its preferred channel and primary
bank from the menu (each bank's branch, PC and mobile channels, and each platform's app)
by a multinomial logit rule (`kernels.choose`). Its main channel of the month is the one
with most transactions (`sim/purposes.py`).

Besides the preferred channel each customer holds a portfolio (`sim/portfolio.py`): the PC
banking and app of its bank, any platform wallets, a secondary bank account, and a
money-fund balance at each wallet's platform; which of them it used this month is kept
too. All of it is decided customer by customer in compiled loops.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kernels, portfolio
from .config import AGE_BANDS, CHANNELS, HOLDING_KINDS, Config
from .portfolio import FIRST_WALLET, PortfolioState, PortfolioTally, PortfolioTerms
from .purposes import purpose_terms, tables_at
from .ties import homophilous_ties

BRANCH, PC, MOBILE, PLATFORM = range(4)
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


@dataclass
class Tally:
    """Counts and sums over all customers at one moment (`Customers.tally`)."""
    counts: np.ndarray          # (channel, platform + 1, bank, segment); slot 0: no platform account
    bank_customers: np.ndarray  # (bank,) customers whose primary bank it is
    portfolio: PortfolioTally   # holdings, use, secondary accounts, deposits and funds

    @property
    def deposits(self) -> np.ndarray:
        """(bank,) RMB held at each bank, per simulated customer."""
        return self.portfolio.deposits

    @property
    def funds(self) -> np.ndarray:
        """(platform,) RMB in each platform's money fund, per simulated customer."""
        return self.portfolio.funds

    def matches(self, other: "Tally", rel: float = 1e-9) -> bool:
        """Same counts, and sums equal to `rel` (this month's use is not recountable and not compared)."""
        close = lambda a, b: np.allclose(a, b, rtol=rel, atol=rel * max(1.0, float(np.abs(b).max(initial=0))))  # noqa: E731
        mine, theirs = self.portfolio, other.portfolio
        return (np.array_equal(self.counts, other.counts) and close(self.deposits, other.deposits) and close(self.funds, other.funds)
                and np.array_equal(self.bank_customers, other.bank_customers)
                and np.array_equal(mine.holders, theirs.holders) and np.array_equal(mine.secondary, theirs.secondary))


class Customers:
    """The customer population."""

    def __init__(self, cfg: Config, bank_shares: np.ndarray, bank_awareness: np.ndarray,
                 platform_awareness: np.ndarray, rng: np.random.Generator):
        p = cfg.population
        n = p.size
        self.size = n
        self.cfg = cfg
        self.n_banks, self.n_platforms = bank_shares.size, platform_awareness.size
        age = rng.choice(len(AGE_BANDS), size=n, p=np.asarray(p.age_shares) / sum(p.age_shares)).astype(np.int8)
        urban = rng.random(n) < p.urban_share
        # stored in segment order, so that each segment is one range of customers (`segment_bounds`)
        order = np.argsort(age * 2 + urban, kind="stable")
        self.age, self.urban = age[order], urban[order]
        self.segment = (self.age * 2 + self.urban).astype(np.int8)
        self.segment_bounds = np.searchsorted(self.segment, np.arange(N_SEGMENTS + 1)).astype(np.int64)
        lit = (np.asarray(p.literacy_mean_by_age)[self.age] + p.literacy_urban_bonus * self.urban
               + p.literacy_sd * rng.standard_normal(n))
        self.literacy0 = np.clip(lit, 0, 1).astype(np.float32)
        self.literacy_growth = np.asarray(p.literacy_growth_by_age, dtype=np.float32)
        median = np.where(self.urban, p.wealth_median_urban, p.wealth_median_rural)
        # all wealth grows at one rate: a customer's wealth is its start value times one common factor
        self.wealth0 = (median * np.exp(p.wealth_sigma * rng.standard_normal(n))).astype(np.float64)
        self.wealth_factor = 1.0
        tilt = np.array([0.1, 0.05, 0.0, -0.1])[self.age]
        self.yield_sensitivity = np.clip(rng.beta(2, 2, n) + tilt, 0, 1).astype(np.float32)
        self.ties = homophilous_ties(self.segment.astype(np.int64), p.ties_per_customer, p.tie_homophily, rng)

        self.bank = rng.choice(self.n_banks, size=n, p=bank_shares).astype(np.int8)
        self.channel = self._initial_channels(p.initial_channel_shares, rng)
        on_platform = self.channel == PLATFORM
        self.platform = np.full(n, -1, dtype=np.int8)
        if on_platform.any():
            weights = platform_awareness / platform_awareness.sum()
            self.platform[on_platform] = rng.choice(self.n_platforms, size=int(on_platform.sum()), p=weights)
        # the portfolio: items held and used this month (bits: PC, app, then one per wallet), the
        # secondary account's bank and each platform's fund balance
        self.holds = np.zeros(n, dtype=np.uint8)
        main = self.channel != BRANCH
        self.holds[main] = 1 << np.where(self.channel[main] == PLATFORM, FIRST_WALLET + self.platform[main],
                                         self.channel[main] - 1).astype(np.uint8)
        self._initial_wallets(rng)
        self.active = self.holds.copy()
        self.secondary = np.full(n, -1, dtype=np.int8)
        self.funds = np.zeros((n, self.n_platforms), dtype=np.float64)
        # tickets scale with wealth relative to the starting population's, so wealth ** elasticity
        # is kept as its start value times one common factor too
        self.wealth_power0 = self.wealth0 ** cfg.transactions.wealth_ticket_elasticity
        self.wealth_power_factor = 1.0
        self.wealth_reference = float(np.mean(self.wealth_power0))

        aware_p = np.concatenate([bank_awareness, platform_awareness])
        # (provider, customer), padded with True to whole 8-byte words for kernels.learn_of_providers
        self._aware_padded = np.ones((aware_p.size, -(-n // 8) * 8), dtype=np.bool_)
        self.aware = self._aware_padded[:, :n]
        self.aware[:] = rng.random((aware_p.size, n), dtype=np.float32) < aware_p[:, None]
        self.aware[self.bank, np.arange(n)] = True
        self.aware[self.n_banks + self.platform[on_platform], on_platform] = True
        for p in range(self.n_platforms):
            self.aware[self.n_banks + p, (self.holds >> (FIRST_WALLET + p)) & 1 == 1] = True
        self._category = np.empty(n, dtype=np.int8)     # the kernels' scratch: each customer's category
        self._monthly_growth = (1 + cfg.population.wealth_growth) ** (1 / 12) - 1
        self.recount()
        self._power_growth = (1 + self._monthly_growth) ** cfg.transactions.wealth_ticket_elasticity
        self._wealth0_total = float(self.wealth0.sum())
        self._fixed_args = self._kernel_constants()

    def _initial_channels(self, shares: dict, rng: np.random.Generator) -> np.ndarray:
        """The most digitally literate start on the most digital channels."""
        score = self.literacy0 + 0.15 * rng.standard_normal(self.size, dtype=np.float32)
        rank = np.empty(self.size, dtype=np.float32)
        rank[np.argsort(score)] = np.arange(self.size, dtype=np.float32) / self.size
        cuts = np.cumsum([shares[c] for c in CHANNELS])[:-1]
        return np.searchsorted(cuts, rank, side="right").astype(np.int8)

    def _initial_wallets(self, rng: np.random.Generator) -> None:
        """Each platform's `initial_holders` share of adults hold its wallet at the start: those with
        the highest literacy plus noise, as with the initial channels."""
        for p, pl in enumerate(self.cfg.platforms.values()):
            k = int(round(pl.initial_holders * self.size))
            if k:
                score = self.literacy0 + 0.15 * rng.standard_normal(self.size, dtype=np.float32)
                self.holds[np.argsort(-score, kind="stable")[:k]] |= np.uint8(1 << (FIRST_WALLET + p))

    # ------------------------------------------------------------------ derived state
    @property
    def category(self) -> np.ndarray:
        """Channel for bank channels, 3 + platform index for platform apps."""
        return np.where(self.channel == PLATFORM, PLATFORM + self.platform, self.channel).astype(np.int8)

    @property
    def wealth(self) -> np.ndarray:
        """RMB now: the start wealth grown at the common rate (a new array; set `wealth0` to change it)."""
        return self.wealth0 * self.wealth_factor

    @property
    def mmf(self) -> np.ndarray:
        """Money-fund balance over all platforms, RMB (a new array)."""
        return self.funds.sum(axis=1)

    @property
    def deposits(self) -> np.ndarray:
        """Balance held at banks (primary and secondary), RMB."""
        return self.wealth - self.mmf

    # ------------------------------------------------------------------ monthly steps
    def decide_month(self, institutions: tuple, layout: tuple, switch_costs: tuple[float, float],
                     awareness_terms: tuple, years: float, portfolio_terms: PortfolioTerms,
                     self_service_share: np.ndarray, mobile_maturity: float, rng: np.random.Generator):
        """The month in one compiled call, in order: the month's menu from the institutions
        (`kernels.menu_terms`, whose arguments `institutions` are), `update_awareness` (with
        `awareness_prob`; `awareness_terms` are its ecosystem reach, word of mouth and scope),
        partnership awareness (`kernels.partnership_awareness`), `reconsider`, the portfolio
        (`portfolio.portfolio_month`, with `portfolio_terms`), then `transactions`.
        `layout` is the menu's fixed part, in the order of `Menu`'s fields (bank, platform,
        channel, provider, category, literacy weight, leave cost, partnership discount), and
        `switch_costs` the costs to change bank and to open a platform account; transactions
        are by purpose (`sim/purposes.py`) at mobile-payment maturity `mobile_maturity`.

        Returns (outcome, inflow, (transaction counts, values), the tally after the month).
        """
        chosen, held, traded, (counts, customers) = kernels.decide_month(
            rng, institutions, layout, switch_costs, (*self._fixed_args["awareness"], self._counts, *awareness_terms),
            self._choice_args(years), (self.portfolio_state, portfolio_terms,
                                       tables_at(self._fixed_args["purposes"], float(mobile_maturity))),
            (np.ascontiguousarray(self_service_share, dtype=np.float64),
             float(self.cfg.transactions.wallet_fund_share)))
        reconsidered, flows, bank_switches, platform_switches = chosen
        self._portfolio = held
        inflow = self.grow_wealth()
        return (ChoiceOutcome(int(reconsidered), flows, int(bank_switches), int(platform_switches)), inflow, traded,
                Tally(counts, customers, held))

    @property
    def portfolio_state(self) -> PortfolioState:
        """The arrays `portfolio.portfolio_month` reads and updates."""
        return self._fixed_args["portfolio"]

    def portfolio_terms(self, years: float, mmf_yield: np.ndarray, deposit_rate: np.ndarray,
                        purchase_limit: float | None, secondary_cost: float, wallet_onboarding: float,
                        bank_partner: np.ndarray) -> PortfolioTerms:
        """This month's `PortfolioTerms` from the month's rates, policy costs and partnerships."""
        c, mk = self.cfg.customers, self.cfg.market
        f64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
        return PortfolioTerms(
            years=float(years), wealth_factor=self.wealth_factor, growth=self._monthly_growth,
            adoption_rate=self._fixed_args["adoption_rate"], adoption_threshold=float(c.adoption_threshold),
            wealth_power_scale=self.wealth_power_factor * self._power_growth / self.wealth_reference,
            secondary_rate=float(c.secondary_account_rate),
            secondary_cost=float(secondary_cost), partnership_discount=float(self.cfg.switching_cost.partnership_discount),
            bank_partner=np.ascontiguousarray(bank_partner, dtype=np.int64), wallet_onboarding=float(wallet_onboarding),
            age_branch_preference=self._fixed_args["preferences"][0],
            rural_branch_multiplier=float(c.rural_branch_multiplier), tie_weight=float(c.tie_weight),
            mmf_yield=f64(mmf_yield), deposit_rate=f64(deposit_rate), base_share=float(mk.mmf_base_share),
            share_per_point=float(mk.mmf_share_per_point), max_share=float(mk.mmf_max_share),
            dormant_factor=float(mk.mmf_dormant_factor),
            purchase_limit=np.inf if purchase_limit is None else float(purchase_limit),
            adjust_rate=float(mk.mmf_adjust_rate), fund_weight=self._fixed_args["fund_weight"],
            secondary_deposit_share=float(mk.secondary_deposit_share))

    def awareness_prob(self, awareness_terms: tuple) -> np.ndarray:
        """(provider, segment) monthly probability of learning of each provider, from the counts
        as they stand; the terms are described in `kernels.awareness_prob`."""
        return kernels.awareness_prob(self._counts, *awareness_terms)

    def update_awareness(self, prob: np.ndarray, rng: np.random.Generator) -> None:
        """Each customer unaware of provider k learns of it with probability prob[k, segment]."""
        kernels.learn_of_providers(*self._awareness_args(prob), rng)

    def reconsider(self, menu: Menu, years: float, rng: np.random.Generator) -> ChoiceOutcome:
        """Customers who reconsider this month pick an alternative by multinomial logit.

        Each customer reconsiders with its age band's probability; those who do weigh every
        alternative they know of that is open, as described in `kernels.choose`.
        """
        choosers, customers, preferences, running = self._choice_args(years)
        reconsidered, flows, bank_switches, platform_switches = kernels.choose(
            rng, choosers, customers, self._menu_args(menu), preferences, running)
        return ChoiceOutcome(int(reconsidered), flows, int(bank_switches), int(platform_switches))

    # the kernels' arguments, in their order and with the dtypes they are compiled for; the parts
    # that never change are built once, by `_kernel_constants`
    def _awareness_args(self, prob):
        return (*self._fixed_args["awareness"], np.ascontiguousarray(prob, dtype=np.float64))

    def _choice_args(self, years: float):
        """(choosers, customers, preferences, running) of `kernels.choose`; the menu goes between."""
        fixed = self._fixed_args
        return ((*fixed["choosers"], float(years)), fixed["customers"], fixed["preferences"],
                (*fixed["running"], *fixed["tallies"]))

    @staticmethod
    def _menu_args(menu: Menu) -> tuple:
        i64, f64 = (lambda a: np.ascontiguousarray(a, dtype=np.int64)), (lambda a: np.ascontiguousarray(a, dtype=np.float64))
        return (i64(menu.bank), i64(menu.platform), i64(menu.channel), i64(menu.provider), i64(menu.category),
                np.ascontiguousarray(menu.available, dtype=np.bool_), f64(menu.utility), f64(menu.literacy_weight),
                f64(menu.branch_presence), f64(menu.yield_term), float(menu.bank_switch_cost),
                f64(menu.opening_extra), f64(menu.leave_cost), float(menu.platform_switch_cost),
                i64(menu.platform_partner), float(menu.partnership_discount))

    def _kernel_constants(self) -> dict[str, tuple]:
        c = self.cfg.customers
        return {
            "awareness": (self._aware_padded, self._aware_padded.view(np.uint64), self.segment_bounds),
            "choosers": (self.segment_bounds, np.asarray(c.reconsider_prob_by_age, dtype=np.float64)),
            "customers": (self.age, self.urban, self.literacy0, self.literacy_growth, self.yield_sensitivity,
                          self.ties, self._aware_padded, self.bank, self.channel, self.platform, self.holds,
                          self.secondary),
            "preferences": (np.asarray(c.age_branch_preference, dtype=np.float64), float(c.rural_branch_multiplier),
                            float(c.tie_weight), float(c.habit), PLATFORM + self.n_platforms),
            "running": (self.segment,),
            "tallies": (self._counts,),
            "portfolio": PortfolioState(self.holds, self.active, self.secondary, self.funds, self.bank, self.channel,
                                        self.platform, self.age, self.urban, self.literacy0, self.literacy_growth,
                                        self.yield_sensitivity, self.ties, self._aware_padded, self.wealth0,
                                        self.segment, self.wealth_power0, self._category),
            "adoption_rate": np.array([c.adoption_rate[k] for k in HOLDING_KINDS], dtype=np.float64),
            "purposes": purpose_terms(self.cfg.transactions),
            "fund_weight": np.array([p.fund_weight for p in self.cfg.platforms.values()], dtype=np.float64),
        }

    def grow_wealth(self) -> float:
        """All wealth grows one month at the common rate, and wealth ** elasticity with it.
        Returns the inflow, the month's growth of all wealth (RMB)."""
        inflow = self._wealth0_total * self.wealth_factor * self._monthly_growth
        self.wealth_factor *= 1 + self._monthly_growth
        self.wealth_power_factor *= self._power_growth
        return inflow

    # ------------------------------------------------------------------ counts
    def tally(self) -> Tally:
        """The counts and sums as they stand, kept up to date by the monthly steps (no pass over customers)."""
        counts, customers = kernels.snapshot(self._counts)
        return Tally(counts, customers, self._portfolio)

    def count(self) -> Tally:
        """The same counts and sums recounted from the customer arrays (this month's use is carried over)."""
        counts, customers = kernels.snapshot(self._count_all())
        return Tally(counts, customers, self._recount_portfolio())

    def _recount_portfolio(self) -> PortfolioTally:
        holders, secondary, deposits, funds = portfolio.recount(
            self.holds, self.secondary, self.funds, self.bank, self.wealth,
            float(self.cfg.market.secondary_deposit_share), self.n_banks)
        last = getattr(self, "_portfolio", None)
        if last is not None:
            users, used, main = last.users, (last.wallet_users, last.multihoming, last.mobile_payers), last.main_channel
        else:       # before the first month: the preferred channel stands for the main one, nothing used yet
            users, used, main = np.zeros_like(holders), (0, 0, 0), self._count_all().sum(axis=1)
        wallet_holders = int(np.count_nonzero(self.holds >> FIRST_WALLET))
        return PortfolioTally(holders, users, np.zeros(holders.shape[0], dtype=np.int64), secondary, 0,
                              wallet_holders, *used, main, deposits, funds)

    def book_portfolio(self, use: dict) -> None:
        """Keep this month's use and openings, counted outside the engine (the reference model), beside
        a recount of the holdings and balances."""
        self._portfolio = self._recount_portfolio()._replace(**use)

    def recount(self) -> None:
        """Restart the running counts from the arrays, after the arrays were changed from outside."""
        counts = self._count_all()
        if not hasattr(self, "_counts"):
            self._counts = counts
        else:       # in place: the kernels' argument lists hold these arrays
            self._counts[...] = counts
        self._portfolio = self._recount_portfolio()

    def _count_all(self):
        return kernels.count_all(self.bank, self.channel, self.platform, self.segment, self.n_banks, self.n_platforms, N_SEGMENTS)
