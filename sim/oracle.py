"""The customer decision rules written a second time, the standard Mesa way.

One `CustomerAgent` per customer, activated each month with `AgentSet.shuffle_do`, with
plain Python arithmetic per agent and per alternative. It is kept out of the engine's
path and serves as a test oracle (the fast engine must match it in distribution) and as
the baseline of the speed benchmark. Institutions, the regulator, transactions and the
metrics are shared with `MarketModel`; only the customers' monthly decisions differ.

Word of mouth reads ties' channels as they were at the start of the month, as the
vectorized engine does (synchronous update), so activation order cannot matter. The
month has two rounds, as in the engine: every agent learns and reconsiders its main
channel, then every agent manages its portfolio (adoption, use, secondary account,
savings) seeing its ties' new preferred channels.
"""
from __future__ import annotations

import math

import mesa
import numpy as np

from sim.engine import kernels
from sim.config import HOLDING_KINDS
from sim.customers import MonthOutcome
from sim.engine.channels import (BRANCH, FIRST_WALLET, MOBILE, PC, PLATFORM, bank_alternative, item_alternative,
                                 item_provider, platform_alternative)
from sim.market import MarketModel
from sim.engine.purposes import holding_key, purpose_tables
from sim.engine.records import ChoiceOutcome, Trading, Transactions


class CustomerAgent(mesa.Agent):
    """One customer: own state, own choices."""

    def __init__(self, model: "ReferenceMarketModel", i: int):
        super().__init__(model)
        c = model.customers
        self.i = i
        self.age, self.urban, self.segment = int(c.age[i]), bool(c.urban[i]), int(c.segment[i])
        self.literacy0, self.yield_sensitivity = float(c.literacy0[i]), float(c.yield_sensitivity[i])
        self.smartphone_year = float(c.smartphone_year[i])
        self.wealth = float(c.wealth0[i] * c.wealth_factor)
        self.funds = [float(f) for f in c.funds[i]]
        self.bank, self.channel, self.platform = int(c.bank[i]), int(c.channel[i]), int(c.platform[i])
        self.holds, self.active, self.secondary = int(c.holds[i]), int(c.active[i]), int(c.secondary[i])
        self.accounts, self.other_apps, self.other_used = int(c.accounts[i]), int(c.other_apps[i]), 0
        self.aware = [bool(a) for a in c.aware[:, i]]
        self.ties = [int(t) for t in c.ties[i]]

    @property
    def category(self) -> int:
        return PLATFORM + self.platform if self.channel == PLATFORM else self.channel

    def holds_item(self, item: int) -> bool:
        return bool(self.holds >> item & 1)

    def has_smartphone(self) -> bool:
        return self.smartphone_year <= self.model.years_elapsed

    def literacy(self) -> float:
        m = self.model
        return min(1.0, self.literacy0 + m.cfg.population.literacy_growth_by_age[self.age] * m.years_elapsed)

    def step(self) -> None:
        """The first round: learn of providers, and perhaps reconsider the preferred channel."""
        m = self.model
        rng = m.random
        for k, p in enumerate(m.awareness_now[self.segment]):
            if not self.aware[k] and p > 0 and rng.random() < p:
                self.aware[k] = True
        if rng.random() < m.cfg.customers.reconsider_prob_by_age[self.age]:
            self.reconsider()

    def reconsider(self) -> None:
        m, c, menu = self.model, self.model.cfg.customers, self.model.menu_now
        old_bank, old_channel, old_platform = self.bank, self.channel, self.platform
        literacy = self.literacy()
        tie_share = [0.0] * (PLATFORM + len(m.platforms))
        for t in self.ties:
            tie_share[m.category_last[t]] += 1 / len(self.ties)
        partner = menu["platform_partner"][self.platform] if self.platform >= 0 else -1
        options, utilities = [], []
        for j in range(len(menu["utility"])):
            if not menu["available"][j] or not self.aware[menu["provider"][j]]:
                continue
            bank, platform, channel = menu["bank"][j], menu["platform"][j], menu["channel"][j]
            if channel >= MOBILE and not self.has_smartphone():      # the app and wallets need one
                continue
            u = menu["utility"][j] + literacy * menu["literacy_weight"][j]
            if channel == BRANCH:
                u += c.age_branch_preference[self.age]
            u += (1 + c.rural_branch_multiplier * (not self.urban)) * menu["branch_presence"][j]
            u += self.yield_sensitivity * menu["yield_term"][j]
            u += c.tie_weight * tie_share[menu["category"][j]]
            if bank >= 0 and bank != self.bank:
                cost = menu["bank_switch_cost"] + menu["leave_cost"][self.bank] + menu["opening_extra"][j]
                if bank == partner:
                    cost *= 1 - menu["partnership_discount"]
                u -= cost
            if platform >= 0 and platform != self.platform and not self.holds_item(FIRST_WALLET + platform):
                u -= menu["platform_switch_cost"]
            if menu["category"][j] != self.category:
                u -= c.habit
            options.append(j)
            utilities.append(u)
        top = max(utilities)
        weights = [math.exp(u - top) for u in utilities]
        draw = m.random.random() * sum(weights)
        pick = options[-1]
        for j, w in zip(options, weights):
            draw -= w
            if draw < 0:
                pick = j
                break
        if menu["bank"][pick] >= 0:
            self.bank = menu["bank"][pick]
        if menu["platform"][pick] >= 0:
            self.platform = menu["platform"][pick]
        self.channel = menu["channel"][pick]
        if self.bank != old_bank:              # kernels._move_primary
            had_app = self.holds_item(MOBILE - 1)
            self.holds &= ~0b11
            if self.other_apps >> self.bank & 1:
                self.holds |= 1 << (MOBILE - 1)
            self.other_apps &= ~(1 << self.bank)
            if had_app:
                self.other_apps |= 1 << old_bank
            self.accounts = (self.accounts | 1 << old_bank) & ~(1 << self.bank)
            if self.secondary == self.bank:
                self.secondary = -1
        if self.channel != BRANCH:
            self.holds |= 1 << self.main_item()
        m.tally_choice(self, old_bank, old_channel, old_platform)

    def main_item(self) -> int:
        if self.channel == BRANCH:
            return -1
        return FIRST_WALLET + self.platform if self.channel == PLATFORM else self.channel - 1

    def manage_portfolio(self) -> None:
        """The second round: adopt and use channels and wallets, perhaps open a secondary account,
        and move savings (sim/engine/portfolio.py states the rules)."""
        m, c, menu, t = self.model, self.model.cfg.customers, self.model.menu_now, self.model.portfolio_now
        rng, nb, npl = m.random, len(m.banks), len(m.platforms)
        literacy, counter = self.literacy(), None
        for j in range(FIRST_WALLET + npl):
            if self.holds_item(j):
                continue
            u = rng.random()
            kind = HOLDING_KINDS[min(j, FIRST_WALLET)]
            alt = item_alternative(self.bank, nb, j)
            provider = item_provider(self.bank, nb, j)
            if u >= c.adoption_rate[kind] or not menu["available"][alt] or not self.aware[provider]:
                continue
            if j > 0 and not self.has_smartphone():
                continue
            if counter is None:
                counter = self.branch_utility(literacy)
            v = self.alternative_utility(alt, literacy, with_ties=True)
            if j >= FIRST_WALLET:
                v -= menu["platform_switch_cost"]
            odds = 1.0 if counter == -math.inf else 1 / (1 + math.exp(min(700.0, counter + c.adoption_threshold - v)))
            if u < c.adoption_rate[kind] * odds:
                self.holds |= 1 << j
                m.adoptions[j] += 1
        if self.secondary < 0 and self.holds and rng.random() < c.secondary_account_rate:
            self.open_secondary(literacy, t)
        self.register_other_app(literacy)
        self.transact()
        self.other_used = 0
        for k in range(nb):
            if self.other_apps >> k & 1 and rng.random() < c.other_app_activity:
                self.other_used |= 1 << k
        self.save(t)
        app, wallet = self.active >> MOBILE & 1, self.active >> FIRST_WALLET
        m.multihoming += bool(app and wallet)

    def register_other_app(self, literacy: float) -> None:
        """The app of another bank it has an account at, one at random, with the odds that it beats the
        counter (no ties, no threshold)."""
        m, c, menu = self.model, self.model.cfg.customers, self.model.menu_now
        lacking = [k for k in range(len(m.banks)) if (self.accounts & ~self.other_apps) >> k & 1]
        if not lacking or not self.has_smartphone() or m.random.random() >= c.other_app_adoption_rate:
            return
        k = lacking[min(int(m.random.random() * len(lacking)), len(lacking) - 1)]
        if not menu["available"][bank_alternative(k, MOBILE)]:
            return
        counter = -math.inf
        if menu["available"][bank_alternative(self.bank, BRANCH)]:
            presence = 1 + (0.0 if self.urban else c.rural_branch_multiplier)
            branch = bank_alternative(self.bank, BRANCH)
            counter = (self.alternative_utility(branch, literacy, with_ties=False)
                       + presence * menu["branch_presence"][branch] + c.age_branch_preference[self.age])
        v = self.alternative_utility(bank_alternative(k, MOBILE), literacy, with_ties=False)
        odds = 1.0 if counter == -math.inf else 1 / (1 + math.exp(min(700.0, counter - v)))
        if m.random.random() < odds:
            self.other_apps |= 1 << k

    def transact(self) -> None:
        """This month's transactions by purpose over what is held (sim/engine/purposes.py), and what was used."""
        m, tables, rng = self.model, self.model.tables_now, self.model.random
        wallets = [p for p in range(len(self.funds)) if self.holds_item(FIRST_WALLET + p)]
        key = holding_key(self.holds_item(PC - 1), self.holds_item(MOBILE - 1), bool(wallets))
        cell = (key, self.channel, self.age)
        m.expected[self.bank] += tables.count[cell]
        m.worth[self.bank] += tables.value[cell] * self.model.customers.wealth_power0[self.i] * m.power_scale
        m.most_used_now[tables.most_used[key, self.channel], self.bank, self.segment] += 1
        used = 0
        if self.holds_item(PC - 1) and rng.random() < tables.used[cell][PC]:
            used |= 1 << (PC - 1)
        paid = False
        if self.holds_item(MOBILE - 1):
            paid = rng.random() < tables.app_pays[cell]
            if paid or rng.random() < tables.app_other[cell]:
                used |= 1 << (MOBILE - 1)
        if wallets:
            each = 1 - math.exp(-tables.count[cell][PLATFORM] / len(wallets))
            for p in wallets:
                if rng.random() < each:
                    used |= 1 << (FIRST_WALLET + p)
        self.active = used
        m.payers += bool(used >> FIRST_WALLET or paid)

    def alternative_utility(self, alt: int, literacy: float, with_ties: bool) -> float:
        menu = self.model.menu_now
        u = (menu["utility"][alt] + literacy * menu["literacy_weight"][alt]
             + self.yield_sensitivity * menu["yield_term"][alt])
        return u + (self.tie_share(menu["category"][alt]) if with_ties else 0.0)

    def tie_share(self, category: int) -> float:
        m = self.model
        return m.cfg.customers.tie_weight * sum(m.category_now[t] == category for t in self.ties) / max(len(self.ties), 1)

    def branch_utility(self, literacy: float) -> float:
        c, menu = self.model.cfg.customers, self.model.menu_now
        branch = bank_alternative(self.bank, BRANCH)
        if not menu["available"][branch]:
            return -math.inf
        presence = 1 + (0.0 if self.urban else c.rural_branch_multiplier)
        return (self.alternative_utility(branch, literacy, with_ties=True) + presence * menu["branch_presence"][branch]
                + c.age_branch_preference[self.age])

    def open_secondary(self, literacy: float, t) -> None:
        m, menu = self.model, self.model.menu_now
        stay = self.alternative_utility(bank_alternative(self.bank, MOBILE), literacy, with_ties=False)
        options, weights = [], []
        for k in range(len(m.banks)):
            alt = bank_alternative(k, MOBILE)
            if k == self.bank or not menu["available"][alt] or not self.aware[k]:
                continue
            cost = t.secondary_cost
            partner = t.bank_partner[k]
            if partner >= 0 and self.holds_item(FIRST_WALLET + partner):
                cost *= 1 - t.partnership_discount
            options.append(k)
            weights.append(math.exp(min(700.0, self.alternative_utility(alt, literacy, with_ties=False) - cost - stay)))
        draw = m.random.random() * (1 + sum(weights))
        for k, w in zip(options, weights):
            draw -= w
            if draw < 0:
                self.secondary = k
                self.accounts |= 1 << k
                m.secondary_opened += 1
                return

    def save(self, t) -> None:
        m, nb = self.model, len(self.model.banks)
        wallets = [p for p in range(len(self.funds))
                   if self.holds_item(FIRST_WALLET + p) and m.menu_now["available"][platform_alternative(nb, p)]]
        if wallets:
            best = max(t.mmf_yield[p] - t.deposit_rate[self.bank] for p in wallets)
            share = min(t.max_share, max(0.0, t.base_share + t.share_per_point * self.yield_sensitivity * best))
            weights = sum(t.fund_weight[p] for p in wallets)
            for p in wallets:
                target = share * self.wealth * t.fund_weight[p] / weights
                if not self.active >> (FIRST_WALLET + p) & 1:
                    target *= t.dormant_factor
                target = min(target, t.purchase_limit)
                self.funds[p] += t.adjust_rate * (target - self.funds[p])
        self.wealth *= 1 + m.wealth_growth_month


class ReferenceMarketModel(MarketModel):
    """MarketModel whose customers are Mesa agents deciding one by one."""

    def __init__(self, cfg, replicate: int = 0):
        super().__init__(cfg, replicate)
        self.wealth_growth_month = (1 + cfg.population.wealth_growth) ** (1 / 12) - 1
        for i in range(self.customers.size):
            CustomerAgent(self, i)

    def _portfolio_use(self, agents) -> dict:
        """This month's use and openings, counted over the agents (the rest is recounted)."""
        nb, n_items = len(self.banks), FIRST_WALLET + len(self.platforms)
        users = np.zeros((n_items, nb), dtype=np.int64)
        other_users = np.zeros(nb, dtype=np.int64)
        wallet_users = 0
        for a in agents:
            for j in range(n_items):
                users[j, a.bank] += a.active >> j & 1
            for k in range(nb):
                other_users[k] += a.other_used >> k & 1
            wallet_users += bool(a.active >> FIRST_WALLET)
        return dict(users=users, other_app_users=other_users, adoptions=self.adoptions, secondary_opened=self.secondary_opened,
                    wallet_users=wallet_users, multihoming=self.multihoming, mobile_payers=self.payers,
                    most_used_channel=self.most_used_now)

    def tally_choice(self, agent: CustomerAgent, old_bank: int, old_channel: int, old_platform: int) -> None:
        self._reconsidered += 1
        if agent.channel != old_channel:
            self._flows[old_channel, agent.channel] += 1
        self._bank_switches += agent.bank != old_bank
        self._platform_switches += agent.platform != old_platform

    def customers_decide(self, self_service, maturity):
        cust = self.customers
        self.awareness_now = self._awareness_prob().T.tolist()          # [segment][provider]
        menu = self._menu()
        self.menu_now = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in menu._asdict().items()}
        self.portfolio_now = self._portfolio_terms()
        self.category_last = cust.category.tolist()
        self._reconsidered = self._bank_switches = self._platform_switches = 0
        self.adoptions = np.zeros(FIRST_WALLET + len(self.platforms), dtype=np.int64)
        self.tables_now = purpose_tables(self.cfg.transactions, maturity)
        self.power_scale = self.portfolio_now.wealth_power_scale
        nb = len(self.banks)
        self.expected, self.worth = np.zeros((nb, 4)), np.zeros((nb, 4))
        self.most_used_now = np.zeros((4, nb, self.customers.segment_bounds.size - 1), dtype=np.int64)
        self.secondary_opened = self.multihoming = self.payers = 0
        self._flows = np.zeros((4, 4), dtype=np.int64)
        agents = self.agents_by_type[CustomerAgent]
        partners = self._partnerships()
        for a in agents:                                                   # partnership awareness
            for bank, platform in partners:
                if a.platform == platform:
                    a.aware[bank] = True
                if a.bank == bank:
                    a.aware[len(self.banks) + platform] = True
        wealth_before = sum(a.wealth for a in agents)
        agents.shuffle_do("step")
        self.category_now = [a.category for a in sorted(agents, key=lambda a: a.i)]
        agents.shuffle_do("manage_portfolio")
        for a in agents:    # the arrays the shared transaction and metrics code reads
            i = a.i
            cust.bank[i], cust.channel[i], cust.platform[i] = a.bank, a.channel, a.platform
            cust.holds[i], cust.active[i], cust.secondary[i], cust.funds[i] = a.holds, a.active, a.secondary, a.funds
            cust.accounts[i], cust.other_apps[i] = a.accounts, a.other_apps
            cust.aware[:, i] = a.aware
        cust.grow_wealth()                                      # each agent's wealth grew at this rate
        cust.recount()
        outcome = ChoiceOutcome(reconsidered=self._reconsidered, channel_flows=self._flows,
                                bank_switches=self._bank_switches, platform_switches=self._platform_switches)
        cust.book_portfolio(self._portfolio_use(agents))
        traded = kernels.draw_transactions(self.rng, Transactions(counts=self.expected, values=self.worth),
                                           Trading(self_service=np.asarray(self_service, dtype=float),
                                                   wallet_fund_share=float(self.cfg.transactions.wallet_fund_share)))
        return MonthOutcome(choice=outcome, inflow=wealth_before * self.wealth_growth_month, transactions=traded,
                            tally=cust.tally())
