"""The measures the decision layer reads, queried once per prepared flow and shared by the
bottleneck ranking and the recommended changes (each is read only when first needed)."""

from __future__ import annotations

from functools import cached_property

import pandas as pd

from vsm_core.metrics import Flow, measures


class DecisionInputs:
    def __init__(self, flow: Flow):
        self.flow = flow

    @cached_property
    def stage_table(self) -> pd.DataFrame:
        return measures.stage_times(self.flow)

    @cached_property
    def items(self) -> pd.DataFrame:
        """Delivered items finished in the window, sorted by item number ``n``."""
        return measures.delivered_items(self.flow)

    @cached_property
    def stays(self) -> pd.DataFrame:
        """Their non-done stays, with ``row``: the item's position in ``items``."""
        stays = measures.delivered_stays(self.flow)
        stays["row"] = self.items["n"].searchsorted(stays["n"])
        return stays

    @cached_property
    def wip(self) -> pd.DataFrame:
        return measures.wip_daily(self.flow)

    @cached_property
    def ageing(self) -> pd.DataFrame:
        return measures.ageing(self.flow)

    @cached_property
    def loops(self) -> pd.DataFrame:
        return measures.rework_loops(self.flow)

    @cached_property
    def complete_and_accurate(self) -> pd.DataFrame:
        return measures.complete_and_accurate(self.flow)[0]

    @cached_property
    def handoffs(self) -> pd.DataFrame:
        return measures.handoffs_per_item(self.flow)

    @cached_property
    def departures(self) -> pd.DataFrame:
        return measures.departure_days(self.flow)

    @cached_property
    def distributions(self) -> pd.DataFrame:
        return measures.distributions(self.flow).set_index("measure")
