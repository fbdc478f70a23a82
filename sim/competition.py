"""What institutions see of each other each quarter, and how adaptive and responsive ones answer.

At a quarter's start every bank and platform decides from the same `PublicQuarter`: last
quarter's public prices (banks' deposit rates, funds' and balance products' yields), spend, and
each one's own share and profit. Nobody sees a rival's move of this quarter before deciding its
own, so the order in which institutions decide does not change the result.

The rules (`StrategyKind`):
- fixed: the plan in the config, every quarter;
- adaptive: spend rises by a step after a quarter that lost more share than a trigger, and
  relaxes back half a step after one that did not, up to a maximum multiplier;
- responsive: adaptive spend, plus an answer to rivals' prices (close `price_match` of the gap
  to their share-weighted price, `price_speed` of the way a quarter, within a band), and a
  budget: after `loss_quarters` quarters at a loss in a row, spend is cut by `spend_cut` a quarter,
  never below `spend_floor` of the plan.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.choices import StrategyKind
from sim.config import ResponseConfig


SHARE_FLOOR = 1e-3      # a rival's price counts with at least this weight, so that one with no customers counts


class PublicQuarter(NamedTuple):
    """Last quarter as everyone could see it, one entry an institution (banks, then platforms)."""
    is_bank: np.ndarray         # bool
    is_open: np.ndarray         # bool: launched by the end of last quarter
    price: np.ndarray           # percent a year: a bank's one-year deposit rate, a platform's fund yield
    product_yield: np.ndarray   # percent a year: a bank's balance product's yield, nan where it has none
    share: np.ndarray           # its customers (banks) or wallet users (platforms) as a share of all


class Answer(NamedTuple):
    """One institution's decision for the quarter."""
    spend_multiplier: float     # times the plan's marketing and digital investment (banks) or subsidies
                                # and marketing (platforms)
    price: float                # the premium (banks, pp over the benchmark) or spread (platforms, pp)
    losing_quarters: int        # quarters in a row at a loss, this one included


def rival_price(public: PublicQuarter, index: int, banks: bool) -> float:
    """The share-weighted price of the open rivals of the same kind, and for a platform also the banks'
    balance products (they compete for the same savings); nan when there are none."""
    same = (public.is_bank == banks) & public.is_open
    same[index] = False
    weight = np.maximum(public.share, SHARE_FLOOR)
    prices, weights = list(public.price[same]), list(weight[same])
    if not banks:
        has_product = public.is_bank & public.is_open & ~np.isnan(public.product_yield)
        prices += list(public.product_yield[has_product])
        weights += list(weight[has_product])
    if not weights:
        return float("nan")
    return float(np.average(prices, weights=weights))


def answer(rule: ResponseConfig, last: Answer, lost_share: float, profit_bn: float, own_price: float,
           rival: float, plan_price: float, band: tuple[float, float]) -> Answer:
    """This quarter's spend multiplier and price, from last quarter's (`last`), the share lost over it,
    its profit (RMB bn over the quarter), its own public price and its rivals' (nan: none)."""
    if rule.kind == StrategyKind.FIXED:
        return Answer(1.0, plan_price, 0)
    multiplier = last.spend_multiplier
    if lost_share > rule.adaptive_trigger:
        multiplier = min(rule.adaptive_max_multiplier, multiplier + rule.adaptive_step)
    else:
        multiplier = max(1.0, multiplier - rule.adaptive_step / 2)
    if rule.kind == StrategyKind.ADAPTIVE:
        return Answer(multiplier, plan_price, 0)
    losing = last.losing_quarters + 1 if profit_bn < 0 else 0
    if losing >= rule.loss_quarters:
        cut = (1 - rule.spend_cut) ** (losing - rule.loss_quarters + 1)
        multiplier = max(rule.spend_floor, min(multiplier, cut))
    price = last.price
    if not np.isnan(rival):
        aim = price + rule.price_match * (rival - own_price)
        price += rule.price_speed * (aim - price)
    return Answer(multiplier, float(np.clip(price, *band)), losing)
