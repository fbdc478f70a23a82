"""Customers: each an agent with its own state and choices, stored as arrays.

Every customer has an age band, an area (urban or rural), digital literacy that grows
over time, wealth, a sensitivity to yield, ties to other customers, a primary bank, a
preferred channel (branch counter, PC banking, the bank's mobile app, or a platform's
app) and the platform of that choice, and awareness of each provider. Each month a
customer reconsiders with some probability and picks its preferred channel and primary
bank from the menu (each bank's branch, PC and mobile channels, and each platform's app)
by a multinomial logit rule (`kernels.choose`). Its most-used channel of the month is the one
with most transactions (`sim/engine/purposes.py`).

Besides the preferred channel each customer holds a portfolio (`sim/engine/portfolio.py`): the PC
banking and app of its bank, any platform wallets, a secondary bank account, and a
money-fund balance at each wallet's platform; which of them it used this month is kept
too. All of it is decided customer by customer in compiled loops.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sim.engine import kernels, portfolio
from sim.config import AGE_BANDS, CHANNELS, HOLDING_KINDS, Config, month_index
from sim.engine.channels import BRANCH, FIRST_WALLET, PLATFORM
from sim.engine.portfolio import PortfolioTally, PortfolioTerms
from sim.engine.purposes import purpose_terms, tables_at
from sim.engine.records import (AwarenessTerms, ChoiceOutcome, ChoiceTerms, CustomerArrays, Institutions, Layout, Menu,
                      MonthTerms, SwitchCosts, Trading, Transactions)
from sim.engine.ties import homophilous_ties

N_SEGMENTS = 2 * len(AGE_BANDS)      # age band x (rural, urban)


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
                and np.array_equal(mine.holders, theirs.holders) and np.array_equal(mine.secondary, theirs.secondary)
                and np.array_equal(mine.accounts, theirs.accounts)
                and np.array_equal(mine.other_app_holders, theirs.other_app_holders))


class MonthOutcome(NamedTuple):
    """`Customers.decide_month`'s result, per simulated customer scale."""
    choice: ChoiceOutcome
    inflow: float                   # the month's growth of all wealth, RMB
    transactions: Transactions      # (bank, place) counts and values: counter, self-service, PC, mobile, platform link
    tally: Tally                    # the counts and sums after the month


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
        digital = self.channel != BRANCH        # the preferred channel is held: PC banking, the app or a wallet
        self.holds[digital] = 1 << np.where(self.channel[digital] == PLATFORM, FIRST_WALLET + self.platform[digital],
                                            self.channel[digital] - 1).astype(np.uint8)
        self._initial_wallets(rng)
        self.active = self.holds.copy()
        self.secondary = np.full(n, -1, dtype=np.int8)
        self.accounts = self._initial_accounts(rng)
        self.other_apps = np.zeros(n, dtype=np.uint32)
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
        self.smartphone_year = self._smartphone_years(cfg, rng)
        self._monthly_growth = (1 + cfg.population.wealth_growth) ** (1 / 12) - 1
        self.recount()
        self._power_growth = (1 + self._monthly_growth) ** cfg.transactions.wealth_ticket_elasticity
        self._wealth0_total = float(self.wealth0.sum())
        self._kernel_constants()

    def _initial_channels(self, shares: dict, rng: np.random.Generator) -> np.ndarray:
        """The most digitally literate start on the most digital channels."""
        score = self.literacy0 + 0.15 * rng.standard_normal(self.size, dtype=np.float32)
        rank = np.empty(self.size, dtype=np.float32)
        rank[np.argsort(score)] = np.arange(self.size, dtype=np.float32) / self.size
        cuts = np.cumsum([shares[c] for c in CHANNELS])[:-1]
        return np.searchsorted(cuts, rank, side="right").astype(np.int8)

    def _smartphone_years(self, cfg: Config, rng: np.random.Generator) -> np.ndarray:
        """When each customer has a smartphone, in years after the start (inf: never), drawn from the
        age band's ownership curve (`population.smartphone_*`): a share `ceiling` ever owns one, at a
        logistic time around `mid` (a year later in rural areas). Whoever starts on the app or a
        wallet, or holds one, has one from the start."""
        p = cfg.population
        start = month_index(cfg.start) / 12
        ceiling = np.asarray(p.smartphone_ceiling_by_age, dtype=np.float64)[self.age]
        mid = (np.asarray(p.smartphone_mid_year_by_age, dtype=np.float64)[self.age] - start
               + p.smartphone_rural_delay_years * ~self.urban)
        u = rng.random(self.size)
        q = np.clip(u / np.maximum(ceiling, 1e-12), 1e-12, 1 - 1e-12)
        years = np.where(u < ceiling, mid + p.smartphone_width_years * np.log(q / (1 - q)), np.inf)
        holds_app_or_wallet = (self.holds >> 1) != 0
        years[holds_app_or_wallet] = np.minimum(years[holds_app_or_wallet], 0.0)
        return years.astype(np.float32)

    def _initial_accounts(self, rng: np.random.Generator) -> np.ndarray:
        """Accounts besides the primary one at the start (bit b: bank b): a customer whose primary
        bank is not b has one at b with the chance that brings b's account holders to its
        `account_reach` share of adults, (reach - initial_share) / (1 - initial_share), drawn
        independently for each bank. A bank without `account_reach` has none."""
        accounts = np.zeros(self.size, dtype=np.uint32)
        for k, b in enumerate(self.cfg.banks.values()):
            if b.account_reach is None or b.account_reach <= b.initial_share:
                continue
            chance = (b.account_reach - b.initial_share) / (1.0 - b.initial_share)
            has = (rng.random(self.size) < chance) & (self.bank != k)
            accounts[has] |= np.uint32(1 << k)
        return accounts

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
    def decide_month(self, institutions: Institutions, layout: Layout, switch_costs: SwitchCosts,
                     awareness: AwarenessTerms, years: float, portfolio_terms: PortfolioTerms,
                     self_service_share: np.ndarray, mobile_maturity: float, rng: np.random.Generator) -> MonthOutcome:
        """The month in one compiled call (`kernels.decide_month`), in order: the month's menu from the
        `institutions` (`kernels.menu_terms`) with its fixed `layout` and the `switch_costs`,
        `update_awareness` (with `awareness_prob` and the `awareness` terms), partnership awareness
        (`kernels.partnership_awareness`), `reconsider`, the portfolio (`portfolio.portfolio_month`,
        with `portfolio_terms`), then the month's transactions, by purpose (`sim/engine/purposes.py`) at
        mobile-payment maturity `mobile_maturity`, each bank's `self_service_share` of branch
        transactions made at machines. Returns the `MonthOutcome`.
        """
        month = kernels.decide_month(
            rng, self.arrays, self._counts, institutions, layout, switch_costs, awareness, self._choice_terms(years),
            portfolio_terms, tables_at(self._purpose_terms, float(mobile_maturity)),
            Trading(self_service=np.ascontiguousarray(self_service_share, dtype=np.float64),
                    wallet_fund_share=float(self.cfg.transactions.wallet_fund_share)))
        self._portfolio = month.portfolio
        inflow = self.grow_wealth()
        return MonthOutcome(choice=month.choice, inflow=inflow, transactions=month.transactions,
                            tally=Tally(month.snapshot.counts, month.snapshot.bank_customers, month.portfolio))

    def portfolio_terms(self, years: float, mmf_yield: np.ndarray, deposit_rate: np.ndarray,
                        purchase_limit: float | None, secondary_cost: float, wallet_onboarding: float,
                        bank_partner: np.ndarray) -> PortfolioTerms:
        """This month's `PortfolioTerms` from the month's rates, policy costs and partnerships."""
        c, mk = self.cfg.customers, self.cfg.market
        f64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
        return PortfolioTerms(
            years=float(years), wealth_factor=self.wealth_factor, growth=self._monthly_growth,
            adoption_rate=self._adoption_rate, adoption_threshold=float(c.adoption_threshold),
            wealth_power_scale=self.wealth_power_factor * self._power_growth / self.wealth_reference,
            secondary_rate=float(c.secondary_account_rate),
            secondary_cost=float(secondary_cost), partnership_discount=float(self.cfg.switching_cost.partnership_discount),
            bank_partner=np.ascontiguousarray(bank_partner, dtype=np.int64), wallet_onboarding=float(wallet_onboarding),
            age_branch_preference=self._age_branch_preference,
            rural_branch_multiplier=float(c.rural_branch_multiplier), tie_weight=float(c.tie_weight),
            mmf_yield=f64(mmf_yield), deposit_rate=f64(deposit_rate), base_share=float(mk.mmf_base_share),
            share_per_point=float(mk.mmf_share_per_point), max_share=float(mk.mmf_max_share),
            dormant_factor=float(mk.mmf_dormant_factor),
            purchase_limit=np.inf if purchase_limit is None else float(purchase_limit),
            adjust_rate=float(mk.mmf_adjust_rate), fund_weight=self._fund_weight,
            secondary_deposit_share=float(mk.secondary_deposit_share),
            other_app_rate=float(c.other_app_adoption_rate), other_app_activity=float(c.other_app_activity))

    def awareness_prob(self, terms: MonthTerms, awareness: AwarenessTerms) -> np.ndarray:
        """(provider, segment) monthly probability of learning of each provider, from the counts
        as they stand, the month's `terms` (marketing, who is open) and the `awareness` terms
        (`kernels.awareness_prob`)."""
        return kernels.awareness_prob(self._counts, terms.by_marketing, awareness.reach, terms.is_open,
                                      awareness.word_of_mouth, awareness.fully_mixed)

    def update_awareness(self, prob: np.ndarray, rng: np.random.Generator) -> None:
        """Each customer unaware of provider k learns of it with probability prob[k, segment]."""
        a = self.arrays
        kernels.learn_of_providers(a.aware, a.aware_words, a.bounds, np.ascontiguousarray(prob, dtype=np.float64), rng)

    def reconsider(self, menu: Menu, years: float, rng: np.random.Generator) -> ChoiceOutcome:
        """Customers who reconsider this month pick an alternative by multinomial logit.

        Each customer reconsiders with its age band's probability; those who do weigh every
        alternative they know of that is open, as described in `kernels.choose`.
        """
        return kernels.choose(rng, self.arrays, self._kernel_menu(menu), self._choice_terms(years), self._counts)

    def _choice_terms(self, years: float) -> ChoiceTerms:
        return self._choice_constants._replace(years=float(years))

    @staticmethod
    def _kernel_menu(menu: Menu) -> Menu:
        """The menu with the dtypes `kernels.choose` is compiled for."""
        i64, f64 = (lambda a: np.ascontiguousarray(a, dtype=np.int64)), (lambda a: np.ascontiguousarray(a, dtype=np.float64))
        return Menu(bank=i64(menu.bank), platform=i64(menu.platform), channel=i64(menu.channel),
                    provider=i64(menu.provider), category=i64(menu.category),
                    available=np.ascontiguousarray(menu.available, dtype=np.bool_), utility=f64(menu.utility),
                    literacy_weight=f64(menu.literacy_weight), branch_presence=f64(menu.branch_presence),
                    yield_term=f64(menu.yield_term), bank_switch_cost=float(menu.bank_switch_cost),
                    opening_extra=f64(menu.opening_extra), leave_cost=f64(menu.leave_cost),
                    platform_switch_cost=float(menu.platform_switch_cost),
                    platform_partner=i64(menu.platform_partner), partnership_discount=float(menu.partnership_discount))

    def _kernel_constants(self) -> None:
        """What the kernels take that never changes: the customer arrays (the same memory as the
        attributes, so that the kernels' updates are the attributes'), and the constant terms."""
        c = self.cfg.customers
        self.arrays = CustomerArrays(
            holds=self.holds, active=self.active, secondary=self.secondary, accounts=self.accounts,
            other_apps=self.other_apps, funds=self.funds, bank=self.bank,
            channel=self.channel, platform=self.platform, age=self.age, urban=self.urban, literacy0=self.literacy0,
            literacy_growth=self.literacy_growth, yield_sensitivity=self.yield_sensitivity, ties=self.ties,
            aware=self._aware_padded, aware_words=self._aware_padded.view(np.uint64), wealth0=self.wealth0,
            segment=self.segment, bounds=self.segment_bounds, wealth_power0=self.wealth_power0,
            smartphone_year=self.smartphone_year, choice_category=np.empty(self.size, dtype=np.int8))
        self._age_branch_preference = np.asarray(c.age_branch_preference, dtype=np.float64)
        self._choice_constants = ChoiceTerms(
            reconsider_prob=np.asarray(c.reconsider_prob_by_age, dtype=np.float64), years=0.0,
            age_branch_preference=self._age_branch_preference, rural_branch_multiplier=float(c.rural_branch_multiplier),
            tie_weight=float(c.tie_weight), habit=float(c.habit), n_categories=PLATFORM + self.n_platforms)
        self._adoption_rate = np.array([c.adoption_rate[k] for k in HOLDING_KINDS], dtype=np.float64)
        self._purpose_terms = purpose_terms(self.cfg.transactions)
        self._fund_weight = np.array([p.fund_weight for p in self.cfg.platforms.values()], dtype=np.float64)

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
        now = kernels.snapshot(self._counts)
        return Tally(now.counts, now.bank_customers, self._portfolio)

    def count(self) -> Tally:
        """The same counts and sums recounted from the customer arrays (this month's use is carried over)."""
        now = kernels.snapshot(self._count_all())
        return Tally(now.counts, now.bank_customers, self._recount_portfolio())

    def _recount_portfolio(self) -> PortfolioTally:
        counted = portfolio.recount(
            self.holds, self.secondary, self.accounts, self.other_apps, self.funds, self.bank, self.wealth,
            float(self.cfg.market.secondary_deposit_share), self.n_banks)
        wallet_holders = int(np.count_nonzero(self.holds >> FIRST_WALLET))
        last = getattr(self, "_portfolio", None)
        if last is None:    # before the first month: the preferred channel stands for the most-used one, nothing used yet
            used = dict(users=np.zeros_like(counted.holders), wallet_users=0, multihoming=0, mobile_payers=0,
                        most_used_channel=self._count_all().sum(axis=1), other_app_users=np.zeros(self.n_banks, dtype=np.int64))
        else:
            used = dict(users=last.users, wallet_users=last.wallet_users, multihoming=last.multihoming,
                        mobile_payers=last.mobile_payers, most_used_channel=last.most_used_channel,
                        other_app_users=last.other_app_users)
        return PortfolioTally(holders=counted.holders, adoptions=np.zeros(counted.holders.shape[0], dtype=np.int64),
                              secondary=counted.secondary, secondary_opened=0, accounts=counted.accounts,
                              other_app_holders=counted.other_app_holders, wallet_holders=wallet_holders,
                              deposits=counted.deposits, funds=counted.funds, **used)

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
