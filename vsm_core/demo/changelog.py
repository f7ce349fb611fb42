"""Recording what Jira would write: each change to a simulated issue becomes a changelog
history (id, time, author, items) in the shapes Jira's ``expand=changelog`` uses."""

from __future__ import annotations

from typing import Sequence

from vsm_core.demo.engine import EventEngine
from vsm_core.demo.people import Person
from vsm_core.demo.site import FLAGGED_FIELD, RANK_FIELD, RESOLUTIONS, SPRINT_FIELD
from vsm_core.demo.team import Item
from vsm_core.demo.workflow import STATUS_CATEGORY, STATUS_ID


class ChangelogRecorder(EventEngine):
    """Writes histories onto items; the event handlers change issues only through these."""

    def record(self, item: Item, t: float, author: Person, changes: list[dict]) -> float:
        """Append a history; times on one issue strictly increase (a few seconds apart)."""
        if t <= item.last_t:
            t = item.last_t + 1.0 + self.rng.random() * 4.0
        self.next_history_id += 1
        item.histories.append((self.next_history_id, t, author, changes))
        item.last_t = t
        return t

    def move(self, item: Item, t: float, to: str, author: Person, extra: Sequence[dict] = ()) -> float:
        """A status transition (with any other changes made in the same edit)."""
        change = {"field": "status", "fieldtype": "jira", "fieldId": "status",
                  "from": STATUS_ID[item.status], "fromString": item.status,
                  "to": STATUS_ID[to], "toString": to}
        t = self.record(item, t, author, [change, *extra])
        if STATUS_CATEGORY[to] != STATUS_CATEGORY[item.status]:
            item.category_t = t
        item.status = to
        return t

    @staticmethod
    def assign(item: Item, person: Person | None) -> list[dict]:
        """The changelog item for a change of assignee (empty when it does not change)."""
        old = item.assignee
        if old is person:
            return []
        item.assignee = person
        return [{"field": "assignee", "fieldtype": "jira", "fieldId": "assignee",
                 "from": old.account_id if old else None, "fromString": old.name if old else None,
                 "to": person.account_id if person else None, "toString": person.name if person else None}]

    @staticmethod
    def resolution_change(item: Item, name: str | None) -> list[dict]:
        old = item.resolution
        item.resolution = name
        return [{"field": "resolution", "fieldtype": "jira", "fieldId": "resolution",
                 "from": RESOLUTIONS[old][0] if old else None, "fromString": old,
                 "to": RESOLUTIONS[name][0] if name else None, "toString": name}]

    @staticmethod
    def flag_change(item: Item, on: bool) -> list[dict]:
        item.flagged = on
        if on:
            return [{"field": "Flagged", "fieldtype": "custom", "fieldId": FLAGGED_FIELD,
                     "from": "", "fromString": "", "to": "[10019]", "toString": "Impediment"}]
        return [{"field": "Flagged", "fieldtype": "custom", "fieldId": FLAGGED_FIELD,
                 "from": "[10019]", "fromString": "Impediment", "to": "", "toString": ""}]

    def noise_rank(self, item: Item, t: float, author: Person) -> None:
        """A rank change: noise in the changelog that importers must skip."""
        word = "higher" if self.rng.random() < 0.7 else "lower"
        self.record(item, t, author, [{"field": "Rank", "fieldtype": "custom", "fieldId": RANK_FIELD,
                                       "from": "", "fromString": "", "to": "", "toString": f"Ranked {word}"}])

    def set_sprint(self, item: Item, t: float, author: Person, sprint: tuple[int, str]) -> None:
        old = item.sprints
        new = old + [sprint]
        item.sprints = new
        self.record(item, t, author, [{
            "field": "Sprint", "fieldtype": "custom", "fieldId": SPRINT_FIELD,
            "from": ", ".join(str(s[0]) for s in old), "fromString": ", ".join(s[1] for s in old),
            "to": ", ".join(str(s[0]) for s in new), "toString": ", ".join(s[1] for s in new)}])
