"""The regulator: the policy levers in force each month, following a dated timeline.

Two regimes frame the levers. Under the asymmetric regime (the seeds' status quo)
platforms sit outside bank rules; under the functional regime ("same business, same
rules") platforms carry compliance cost and know-your-customer friction like banks.
The regime only sets defaults; every lever can also be set directly and changed at a
given month by a timeline event.
"""
from __future__ import annotations

from dataclasses import fields, make_dataclass, replace

from sim.choices import Regime
from sim.config import PolicyLevers, RegulationConfig, month_index


# The levers in force in one month: exactly the regulator's levers (sim/config.py: PolicyLevers),
# frozen so that a month's record keeps the policy it was run under.
Policy = make_dataclass("Policy", [(f.name, f.type) for f in fields(PolicyLevers)], frozen=True, namespace={
    "__doc__": "Levers in force in one month.",
    "functional": property(lambda self: self.regime == Regime.FUNCTIONAL, doc="Under functional regulation?"),
})


class Regulator:
    """Applies the timeline; `policy_at(month)` gives the levers in force."""

    def __init__(self, cfg: RegulationConfig):
        self.kyc_friction = cfg.kyc_friction
        names = [f.name for f in fields(Policy)]
        self._initial = Policy(**{n: getattr(cfg, n) for n in names})
        # history first, then what-if changes; within a month the later-listed event wins
        events = [*cfg.timeline, *cfg.scenario_events]
        self._events = sorted(((month_index(ev.date), i, dict(ev.set)) for i, ev in enumerate(events)),
                              key=lambda e: (e[0], e[1]))
        self.policy = self._initial
        self._month, self._applied = None, 0      # the events applied so far, for months asked in order

    def policy_at(self, month: int) -> Policy:
        if self._month is None or month < self._month:
            self.policy, self._applied = self._initial, 0
        while self._applied < len(self._events) and self._events[self._applied][0] <= month:
            self.policy = replace(self.policy, **self._events[self._applied][2])
            self._applied += 1
        self._month = month
        return self.policy

    def platform_onboarding_friction(self, policy: Policy) -> float:
        """Utils a customer pays to open a platform account on top of the switching cost.

        Under the functional regime full compliance applies: real-name checks as at a bank.
        """
        weight = 1.0 if policy.functional else 0.5
        return self.kyc_friction * policy.platform_compliance_cost * weight
