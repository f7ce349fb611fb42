"""The end of the line: weekly release batches, the occasional reopened regression, and epics
closing once their work is done."""

from __future__ import annotations

from datetime import datetime, timedelta

from vsm_core.demo.changelog import ChangelogRecorder
from vsm_core.demo.clock import TEAM_ZONE
from vsm_core.demo.parameters import P_REOPEN
from vsm_core.demo.people import AUTOMATION
from vsm_core.demo.site import PRIORITY_JSON
from vsm_core.demo.team import Item, Team
from vsm_core.demo.workflow import BACKLOG, DONE, READY, READY_RELEASE, WONT_DO


class Releases(ChangelogRecorder):
    """Event handlers for releasing, reopening and closing epics."""

    def _release(self, t: float, team: Team) -> None:
        """Thursday afternoon: everything in Ready for Release goes to Done in one batch."""
        if team.release_queue:
            self.next_version_id += 1
            day = datetime.fromtimestamp(t, TEAM_ZONE).date()
            version = (str(self.next_version_id), f"{team.key} {day:%G}.{day:%V}", t)
            batch, team.release_queue = team.release_queue, []
            for item in batch:
                t += self.rng.uniform(1.0, 4.0)
                self.at(t, self._finish, item, version)
        day = datetime.fromtimestamp(t, TEAM_ZONE).date()
        self.at(self.next_weekday(day + timedelta(days=2), (3,), 15, team.index % 50), self._release, team)

    def _finish(self, t: float, item: Item, version: tuple[str, str, float]) -> None:
        """The release app moves the item to Done with its fix version; a few come back."""
        if item.final or item.status != READY_RELEASE:
            return
        item.fix_version = version
        extra = self.resolution_change(item, "Done") + [{
            "field": "Fix Version", "fieldtype": "jira", "fieldId": "fixVersions",
            "from": None, "fromString": None, "to": version[0], "toString": version[1]}]
        t = self.move(item, t, DONE, AUTOMATION, extra)
        item.resolved = t
        item.team.committed.discard(item)
        if item.type in ("Story", "Bug") and self.rng.random() < P_REOPEN:
            item.reopen_pending = True
            self.at(self.work_later(t, self.rng.uniform(4, 80)), self._reopen, item)
        else:
            self.finalize(item)

    def _reopen(self, t: float, item: Item) -> None:
        """A released item comes back (a regression): resolution cleared, priority raised."""
        item.reopen_pending = False
        author = self.rng.choice(item.team.testers + [item.team.po])
        extra = self.resolution_change(item, None)
        if item.priority not in ("Highest", "High"):
            extra.append({"field": "priority", "fieldtype": "jira", "fieldId": "priority",
                          "from": PRIORITY_JSON[item.priority]["id"], "fromString": item.priority,
                          "to": PRIORITY_JSON["High"]["id"], "toString": "High"})
            item.priority = "High"
        t = self.move(item, t, READY, author, extra)
        item.resolved = None
        if "regression" not in item.labels:
            item.labels = item.labels[:2] + ["regression"]
            self.record(item, t + self.rng.uniform(10, 120), author, [{
                "field": "labels", "fieldtype": "jira", "fieldId": "labels", "from": None,
                "fromString": " ".join(item.labels[:-1]), "to": None, "toString": " ".join(item.labels)}])
        self._make_ready(item, item.last_t)

    def _maybe_close_epic(self, epic: Item, t: float) -> None:
        """Close the epic a few days after its last child settles, once it takes no more work."""
        if epic.accepting or epic.children_open > 0 or epic.final or epic.reopen_pending:
            return
        epic.reopen_pending = True  # guards against closing twice
        self.at(max(t, epic.last_t) + self.rng.uniform(0.5, 5) * 86400.0, self._close_epic, epic)

    def _close_epic(self, t: float, epic: Item) -> None:
        if epic.final:
            return
        t = self.cal.to_cal(self.cal.to_work(t))
        po = epic.team.po
        if epic.status == BACKLOG:
            self.move(epic, t, WONT_DO, po, self.resolution_change(epic, "Won't Do"))
        else:
            # Decision: one epic in five is closed without a resolution, as real sites do.
            extra = self.resolution_change(epic, "Done") if self.rng.random() < 0.8 else []
            self.move(epic, t, DONE, po, extra)
        epic.resolved = epic.last_t if epic.resolution else None
        epic.reopen_pending = False
        self.finalize(epic)
