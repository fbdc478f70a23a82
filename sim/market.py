"""The market: banks, platforms, customers and the regulator, advanced one month per step.

Each month: the regulator's levers for the month apply; at a quarter's start banks
revise their strategies; platforms set subsidies and fund yields; customers learn of
providers (marketing, platform ecosystems, word of mouth), some reconsider their
provider and channel, savings move between deposits and funds, and transactions are
made; institutions book their month and the metrics are recorded.
"""
from __future__ import annotations

import math

import mesa
import numpy as np

from sim.engine import kernels
from sim.banks import Bank
from sim.config import CHANNELS, Config, month_index, replicate_seed, validate
from sim.choices import WordOfMouthScope
from sim.customers import N_SEGMENTS, Customers, MonthOutcome
from sim.competition import PublicQuarter
from sim.engine.channels import BANK_CHANNELS, FIRST_WALLET, PLATFORM, PLATFORM_LINK, platform_alternative
from sim.writers.metrics import MetricsRecorder
from sim.platforms import Platform
from sim.engine.records import (AwarenessTerms, BankFixedTerms, BankTerms, Institutions, Layout, Menu, MenuWeights,
                               PlatformFixedTerms, PlatformTerms, SwitchCosts)
from sim.regulation import Policy, Regulator


class MarketModel(mesa.Model):
    """Retail banking channel competition, monthly from `cfg.start` to `cfg.end`."""

    def __init__(self, cfg: Config, replicate: int = 0):
        validate(cfg)
        super().__init__(rng=np.random.default_rng(replicate_seed(cfg.seed, replicate)))
        self.cfg, self.replicate = cfg, replicate
        self.first_month, self.last_month = month_index(cfg.start), month_index(cfg.end)
        self.month = self.first_month
        self.regulator = Regulator(cfg.regulation)
        self.policy: Policy = self.regulator.policy_at(self.first_month)
        self.banks = [Bank(self, name, i, b) for i, (name, b) in enumerate(cfg.banks.items())]
        self.platforms = [Platform(self, name, i, p) for i, (name, p) in enumerate(cfg.platforms.items())]
        self.platform_index = {p.name: p.index for p in self.platforms}
        self.mmf_yields = {int(y): v for y, v in cfg.market.mmf_yield_by_year.items()}
        self._yield_by_year: dict[int, float] = {}
        self.market_mmf_yield = self._market_mmf_yield()
        self.customers = Customers(
            cfg,
            bank_shares=np.array([b.cfg.initial_share for b in self.banks]),
            bank_awareness=np.array([b.cfg.initial_awareness for b in self.banks]),
            platform_awareness=np.array([p.cfg.initial_awareness for p in self.platforms]),
            rng=self.rng,
        )
        self.adults_per_customer = cfg.population.represents_adults / cfg.population.size
        self.recorder = MetricsRecorder(self)
        # what never changes in the month's terms, built once
        self._layout = self._fixed_menu()
        self._bank_fixed, self._platform_fixed, self._menu_weights = self._fixed_institution_terms()
        c = cfg.customers
        self._awareness = AwarenessTerms(reach=self._ecosystem_reach(), word_of_mouth=float(c.awareness_word_of_mouth),
                                         fully_mixed=c.word_of_mouth_scope == WordOfMouthScope.POPULATION)

    @property
    def n_months(self) -> int:
        return self.last_month - self.first_month + 1

    @property
    def years_elapsed(self) -> float:
        return (self.month - self.first_month) / 12

    def step(self) -> None:
        self.month = self.first_month + self.recorder.months_recorded
        self.policy = self.regulator.policy_at(self.month)
        if (self.month - self.first_month) % 3 == 0:
            self.decide_quarter()
        self.market_mmf_yield = self._market_mmf_yield()
        for b in self.banks:
            b.set_month(self.policy, self.market_mmf_yield)
        for p in self.platforms:
            p.set_month(self.policy, self.market_mmf_yield)

        self_service = np.array([b.self_service_share for b in self.banks])
        maturity = self._mobile_tech() / self.cfg.customers.mobile_tech_max if self.cfg.customers.mobile_tech_max else 0.0
        month = self.customers_decide(self_service, maturity)

        self.book_month(month)
        self.recorder.record(month.choice, month.transactions.counts * self.adults_per_customer,
                             month.transactions.values * self.adults_per_customer, month.inflow * self.adults_per_customer, month.tally)
        if self.month >= self.last_month:
            self.running = False

    def decide_quarter(self) -> None:
        """Every bank and platform decides from the same record of last quarter (sim/competition.py), so
        the order they decide in does not matter; the banks' order is still drawn, as it always was."""
        public = self._public_quarter() if self.month > self.first_month else None
        self.agents_by_type[Bank].shuffle_do("decide_quarter", public)
        for p in self.platforms:
            p.decide_quarter(public)

    def _public_quarter(self) -> PublicQuarter:
        """Last quarter's prices and shares as everyone saw them at its end."""
        institutions = [*self.banks, *self.platforms]
        share = np.array([i.customer_share for i in self.banks] + [p.user_share for p in self.platforms])
        return PublicQuarter(
            is_bank=np.array([True] * len(self.banks) + [False] * len(self.platforms)),
            is_open=np.array([i.is_open(self.month - 1) for i in institutions]),
            price=np.array([b.one_year_rate for b in self.banks] + [p.mmf_yield for p in self.platforms]),
            product_yield=np.array([b.product_yield for b in self.banks] + [math.nan] * len(self.platforms)),
            share=share)

    def book_month(self, month: MonthOutcome) -> None:
        """Each institution books its month from what its customers did (real scale)."""
        tally, scale = month.tally, self.adults_per_customer
        balances, funds = tally.deposits * scale, tally.funds * scale
        customers = tally.bank_customers / self.customers.size
        mk = self.cfg.market
        for b in self.banks:
            b.customer_share = customers[b.index]
            b.book_month(balances[b.index], b.product_share(mk.mmf_share_per_point, mk.mmf_max_share),
                         tally.bank_customers[b.index] * scale)
        active = tally.portfolio.users[FIRST_WALLET:].sum(axis=1)            # (platform,) active users, simulated
        users = active * scale
        wallet_value, all_users = month.transactions.values[:, PLATFORM_LINK].sum() * scale, users.sum()
        for p in self.platforms:
            p.user_share = active[p.index] / self.customers.size
            paid = wallet_value * users[p.index] / all_users if all_users > 0 else 0.0
            p.book_month(funds[p.index], paid, users[p.index], self.policy)

    def customers_decide(self, self_service: np.ndarray, maturity: float) -> MonthOutcome:
        """This month's customer decisions (awareness, provider and channel, savings), then their
        transactions, given each bank's self-service share and mobile payments' maturity in [0, 1],
        per simulated customer scale.
        """
        institutions, switch_costs = self._institution_terms(), self._switch_costs()
        return self.customers.decide_month(institutions, self._layout, switch_costs, self._awareness,
                                           self.years_elapsed, self._portfolio_terms(institutions, switch_costs),
                                           self_service, maturity, self.rng)

    def _portfolio_terms(self, institutions: Institutions | None = None, switch_costs: SwitchCosts | None = None):
        """This month's terms of the customers' portfolios (`sim/engine/portfolio.py`): fund yields and deposit
        rates, the purchase limit, the cost of a secondary account (a branch visit while accounts cannot
        be opened remotely), wallet onboarding, and each bank's partner platform. `institutions` and
        `switch_costs` are the month's `_institution_terms()` and `_switch_costs()`, if already built."""
        sc, pol = self.cfg.switching_cost, self.policy
        institutions = self._institution_terms() if institutions is None else institutions
        switch_costs = self._switch_costs() if switch_costs is None else switch_costs
        visit = 0.0 if pol.remote_account_opening else sc.branch_visit_to_open
        partner = [self.platform_index[b.partner] if b.partner is not None else -1 for b in self.banks]
        launched = institutions.month >= institutions.platform_fixed.launch_month
        return self.customers.portfolio_terms(self.years_elapsed,
                                              mmf_yield=np.where(launched, institutions.platforms.fund_yield, 0.0),
                                              deposit_rate=institutions.banks.deposit_rate.copy(),
                                              purchase_limit=pol.mmf_purchase_limit,
                                              secondary_cost=sc.scale * (sc.secondary_account + visit),
                                              wallet_onboarding=switch_costs.platform, bank_partner=np.array(partner))

    def run(self, progress=None) -> "MarketModel":
        """Run to the end month; `progress(model)` is called after each month if given."""
        while self.running:
            self.step()
            if progress is not None:
                progress(self)
        return self

    # ------------------------------------------------------------------ the month's terms
    def _market_mmf_yield(self) -> float:
        """This year's market money-fund yield (the last listed year's before it, or the first)."""
        year = self.month // 12
        if year not in self._yield_by_year:
            known = [y for y in self.mmf_yields if y <= year] or [min(self.mmf_yields)]
            self._yield_by_year[year] = self.mmf_yields[max(known)]
        return self._yield_by_year[year]

    def _mobile_tech(self) -> float:
        c = self.cfg.customers
        year = self.month / 12
        return c.mobile_tech_max / (1 + math.exp(-(year - c.mobile_tech_mid_year) / c.mobile_tech_width_years))

    def _fixed_menu(self) -> Layout:
        """What never changes in the menu: the alternatives (each bank's branch, PC and mobile, then each
        platform's app), their literacy weights, the cost to leave each bank, the partnership discount."""
        nb, npl = len(self.banks), len(self.platforms)
        channels = len(BANK_CHANNELS)
        bank = np.r_[np.repeat(np.arange(nb), channels), np.full(npl, -1)]
        platform = np.r_[np.full(platform_alternative(nb, 0), -1), np.arange(npl)]
        channel = np.r_[np.tile(BANK_CHANNELS, nb), np.full(npl, PLATFORM)]
        weight = self.cfg.customers.literacy_weight
        sc = self.cfg.switching_cost
        bank, platform, channel = bank.astype(np.int64), platform.astype(np.int64), channel.astype(np.int64)
        return Layout(bank=bank, platform=platform, channel=channel, provider=np.where(bank >= 0, bank, nb + platform),
                      category=np.where(channel == PLATFORM, PLATFORM + platform, channel),
                      literacy_weight=np.array([float(weight[CHANNELS[ch]]) for ch in channel]),
                      leave_cost=sc.scale * np.array([float(b.cfg.switching_cost_extra) for b in self.banks]),
                      partnership_discount=float(sc.partnership_discount))

    def _fixed_institution_terms(self) -> tuple[BankFixedTerms, PlatformFixedTerms, MenuWeights]:
        """The `Institutions` fields that never change: the banks' and platforms' fixed terms, and the weights."""
        c = self.cfg.customers
        column = lambda values: np.array(values, dtype=np.float64)  # noqa: E731
        banks = BankFixedTerms(launch_month=column([b.launch_month for b in self.banks]),
                               security_friction=column([b.cfg.security_friction for b in self.banks]))
        platforms = PlatformFixedTerms(launch_month=column([p.launch_month for p in self.platforms]),
                                       payment_convenience=column([p.cfg.payment_convenience for p in self.platforms]))
        constant = c.channel_constant
        weights = MenuWeights(
            branch=float(constant["branch"]), pc=float(constant["pc"]), mobile=float(constant["mobile"]),
            platform=float(constant["platform"]), marketing=float(c.marketing_weight), subsidy=float(c.subsidy_weight),
            app_quality=float(c.app_quality_weight), branch_density=float(c.branch_density_weight),
            yield_weight=float(c.yield_weight),
            spend_scale=1e9 / self.cfg.population.represents_adults / c.marketing_reference_rmb,
            awareness_per_reach=c.awareness_per_marketing / math.log(2))
        return banks, platforms, weights

    def _institution_terms(self) -> Institutions:
        """This month's `Institutions` (`kernels.menu_terms`'s argument): the banks' and platforms' state
        now, the policy's, and what never changes."""
        sc, pol = self.cfg.switching_cost, self.policy
        column = lambda values: np.array(values, dtype=np.float64)  # noqa: E731
        banks = BankTerms(marketing=column([b.marketing_bn for b in self.banks]),
                          app_quality=column([b.app_quality for b in self.banks]),
                          branches=column([b.branches for b in self.banks]),
                          branch_presence=column([b.branch_presence for b in self.banks]),
                          partner=np.array([self.platform_index[b.partner] if b.partner is not None else -1
                                            for b in self.banks], dtype=np.int64),
                          deposit_rate=column([b.rate_weighed for b in self.banks]))
        platforms = PlatformTerms(marketing=column([p.marketing_bn for p in self.platforms]),
                                  subsidy=column([p.subsidy_bn for p in self.platforms]),
                                  fund_yield=column([p.mmf_yield for p in self.platforms]))
        visit = 0.0 if pol.remote_account_opening else sc.scale * sc.branch_visit_to_open
        return Institutions(month=self.month, tech=self._mobile_tech(), banks=banks, platforms=platforms,
                            bank_fixed=self._bank_fixed, platform_fixed=self._platform_fixed,
                            weights=self._menu_weights, ukey_friction=float(pol.ukey_friction), visit_cost=float(visit))

    def _switch_costs(self) -> SwitchCosts:
        """Utils to change primary bank, and to open a platform account, under this month's policy.

        A primary (Class I) account is opened at a branch even where Class II/III accounts open
        remotely, so remote opening lowers the cost of a secondary account (`_portfolio_terms`),
        not of a change of primary bank."""
        sc, pol = self.cfg.switching_cost, self.policy
        return SwitchCosts(bank=float(sc.scale * (sc.bank + sc.branch_visit_to_open)),
                           platform=float(sc.scale * sc.platform + self.regulator.platform_onboarding_friction(pol)))

    def _menu(self) -> Menu:
        """This month's menu (the engine builds the same inside its monthly kernel call)."""
        terms = kernels.menu_terms(self._institution_terms())
        switch_costs = self._switch_costs()
        return Menu(**self._layout._asdict(), available=terms.available, utility=terms.utility,
                    branch_presence=terms.branch_presence, yield_term=terms.yield_term,
                    opening_extra=terms.opening_extra, bank_switch_cost=switch_costs.bank,
                    platform_switch_cost=switch_costs.platform, platform_partner=terms.platform_partner)

    def _ecosystem_reach(self) -> np.ndarray:
        """(provider, segment) chance a month that a platform's ecosystem makes it known; 0 for banks."""
        reach = np.zeros((len(self.banks) + len(self.platforms), N_SEGMENTS))
        urban = np.arange(N_SEGMENTS) % 2 == 1
        for p in self.platforms:
            reach[len(self.banks) + p.index] = p.cfg.ecosystem_reach * np.where(urban, 1.0, p.cfg.rural_reach_factor)
        return reach

    def _awareness_prob(self) -> np.ndarray:
        """(providers, segments) monthly probability that an unaware customer learns of each."""
        return self.customers.awareness_prob(kernels.menu_terms(self._institution_terms()), self._awareness)

    def _partnerships(self) -> list[tuple[int, int]]:
        """(bank, platform) pairs in partnership: each shows the other to its customers."""
        return [(b.index, self.platform_index[b.partner]) for b in self.banks if b.partner is not None]
