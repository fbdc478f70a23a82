"""The customer decision rules written a second time, the standard Mesa way.

One `CustomerAgent` per customer, activated each month with `AgentSet.shuffle_do`, with
plain Python arithmetic per agent and per alternative. It is kept out of the engine's
path and serves as a test oracle (the fast engine must match it in distribution) and as
the baseline of the speed benchmark. Institutions, the regulator, transactions and the
metrics are shared with `MarketModel`; only the customers' monthly decisions differ.

Word of mouth reads ties' channels as they were at the start of the month, as the
vectorized engine does (synchronous update), so activation order cannot matter.
"""
from __future__ import annotations

import math

import mesa
import numpy as np

from .customers import BRANCH, PLATFORM, ChoiceOutcome
from .market import MarketModel


class CustomerAgent(mesa.Agent):
    """One customer: own state, own choices."""

    def __init__(self, model: "ReferenceMarketModel", i: int):
        super().__init__(model)
        c = model.customers
        self.i = i
        self.age, self.urban, self.segment = int(c.age[i]), bool(c.urban[i]), int(c.segment[i])
        self.literacy0, self.yield_sensitivity = float(c.literacy0[i]), float(c.yield_sensitivity[i])
        self.wealth, self.mmf = float(c.wealth0[i] * c.wealth_factor), float(c.mmf[i])
        self.bank, self.channel, self.platform = int(c.bank[i]), int(c.channel[i]), int(c.platform[i])
        self.aware = [bool(a) for a in c.aware[:, i]]
        self.ties = [int(t) for t in c.ties[i]]

    @property
    def category(self) -> int:
        return PLATFORM + self.platform if self.channel == PLATFORM else self.channel

    def step(self) -> None:
        m = self.model
        rng = m.random
        for k, p in enumerate(m.awareness_now[self.segment]):
            if not self.aware[k] and p > 0 and rng.random() < p:
                self.aware[k] = True
        if rng.random() < m.cfg.customers.reconsider_prob_by_age[self.age]:
            self.reconsider()
        self.save()

    def reconsider(self) -> None:
        m, c, menu = self.model, self.model.cfg.customers, self.model.menu_now
        old_bank, old_channel, old_platform = self.bank, self.channel, self.platform
        literacy = min(1.0, self.literacy0 + m.cfg.population.literacy_growth_by_age[self.age] * m.years_elapsed)
        tie_share = [0.0] * (PLATFORM + len(m.platforms))
        for t in self.ties:
            tie_share[m.category_last[t]] += 1 / len(self.ties)
        partner = menu["platform_partner"][self.platform] if self.platform >= 0 else -1
        options, utilities = [], []
        for j in range(len(menu["utility"])):
            if not menu["available"][j] or not self.aware[menu["provider"][j]]:
                continue
            bank, platform, channel = menu["bank"][j], menu["platform"][j], menu["channel"][j]
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
            if platform >= 0 and platform != self.platform:
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
        m.tally_choice(self, old_bank, old_channel, old_platform)

    def save(self) -> None:
        m, mk = self.model, self.model.cfg.market
        if self.platform >= 0:
            mmf_yield, deposit_rate, limit = m.savings_now
            spread = mmf_yield[self.platform] - deposit_rate[self.bank]
            share = min(mk.mmf_max_share, max(0.0, mk.mmf_base_share + mk.mmf_share_per_point
                                              * self.yield_sensitivity * spread))
            if self.channel != PLATFORM:
                share *= mk.mmf_dormant_factor
            target = share * self.wealth
            if limit is not None:
                target = min(target, limit)
            self.mmf += mk.mmf_adjust_rate * (target - self.mmf)
        self.wealth *= 1 + m.wealth_growth_month


class ReferenceMarketModel(MarketModel):
    """MarketModel whose customers are Mesa agents deciding one by one."""

    def __init__(self, cfg, replicate: int = 0):
        super().__init__(cfg, replicate)
        self.wealth_growth_month = (1 + cfg.population.wealth_growth) ** (1 / 12) - 1
        for i in range(self.customers.size):
            CustomerAgent(self, i)

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
        self.menu_now = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in vars(menu).items()}
        self.savings_now = self._savings_terms()
        self.category_last = cust.category.tolist()
        self._reconsidered = self._bank_switches = self._platform_switches = 0
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
        for a in agents:    # the arrays the shared transaction and metrics code reads
            i = a.i
            cust.bank[i], cust.channel[i], cust.platform[i] = a.bank, a.channel, a.platform
            cust.mmf[i] = a.mmf
            cust.aware[:, i] = a.aware
        cust.grow_wealth()                                      # each agent's wealth grew at this rate
        cust.recount()
        outcome = ChoiceOutcome(self._reconsidered, self._flows, self._bank_switches, self._platform_switches)
        tally = cust.tally()
        return (outcome, wealth_before * self.wealth_growth_month,
                cust.transactions(self_service, maturity, self.rng, tally), tally)
