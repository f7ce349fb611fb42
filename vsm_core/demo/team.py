"""What the simulation works on: an issue while it is simulated (``Item``) and a team with
its people and queues (``Team``)."""

from __future__ import annotations

import random
from collections import deque
from typing import Iterator

from vsm_core.demo.parameters import TEAM_SIZE
from vsm_core.demo.people import Person, account_id, person
from vsm_core.demo.site import API, PROJECTS
from vsm_core.demo.workflow import BACKLOG


class Item:
    """One issue while it is simulated: its fields and its changelog so far."""

    __slots__ = (
        "issue_id", "key", "team", "type", "summary", "priority", "labels", "components", "points",
        "created", "reporter", "assignee", "status", "category_t", "histories", "last_t",
        "parent", "epic", "subtasks", "children_open", "accepting", "resolution", "resolved",
        "dev", "remaining", "work_hours", "skip_qa", "flagged", "sprints", "fix_version", "final",
        "reopen_pending",
    )

    def __init__(self, issue_id: int, key: str, team: Team, type_: str, created: float):
        self.issue_id, self.key, self.team, self.type, self.created = issue_id, key, team, type_, created
        self.summary, self.priority = "", "Medium"
        self.labels: list[str] = []
        self.components: list[str] = []
        self.points: float | None = None
        self.reporter: Person = team.po
        self.assignee: Person | None = None
        self.status, self.category_t = BACKLOG, created
        self.histories: list[tuple[int, float, Person, list[dict]]] = []
        self.last_t = created
        self.parent: Item | None = None
        self.epic: Item | None = None
        self.subtasks: list[Item] = []
        self.children_open, self.accepting = 0, False
        self.resolution: str | None = None
        self.resolved: float | None = None
        self.dev: Person | None = None
        self.remaining = 0.0
        self.work_hours = 0.0
        self.skip_qa = False
        self.flagged = False
        self.sprints: list[tuple[int, str]] = []
        self.fix_version: tuple[str, str, float] | None = None
        self.final = False
        self.reopen_pending = False


class Team:
    """A project with its people and its queues."""

    def __init__(self, index: int, project_id: int, rng: random.Random, names: Iterator[str]):
        key, name = PROJECTS[index % len(PROJECTS)]
        if index >= len(PROJECTS):
            key, name = f"{key}{index // len(PROJECTS) + 1}", f"{name} {index // len(PROJECTS) + 1}"
        self.index, self.key, self.name, self.project_id = index, key, name, project_id
        self.devs = [person(next(names), account_id(rng)) for _ in range(TEAM_SIZE["dev"])]
        self.reviewers = [person(next(names), account_id(rng)) for _ in range(TEAM_SIZE["reviewer"])]
        self.testers = [person(next(names), account_id(rng)) for _ in range(TEAM_SIZE["tester"])]
        self.po = person(next(names), account_id(rng))
        self.project_json = {
            "self": f"{API}/project/{project_id}", "id": str(project_id), "key": key, "name": name,
            "projectTypeKey": "software", "simplified": False,
        }
        self.next_number = 1
        self.backlog: list[Item] = []
        self.ready: list[tuple[int, float, int, Item]] = []  # heap: priority, ready time, seq
        self.review_queue: deque[Item] = deque()
        self.qa_queue: deque[Item] = deque()
        self.release_queue: list[Item] = []
        self.free_devs: list[Person] = list(self.devs)
        self.free_reviewers: list[Person] = list(self.reviewers)
        self.free_testers: list[Person] = list(self.testers)
        self.resume: dict[int, deque[Item]] = {id(p): deque() for p in self.devs}
        self.committed: set[Item] = set()
        self.current_epic: Item | None = None
        self.sprint: tuple[int, str] | None = None
        self.sprint_number = 0
        self.policy_changed = False
        self.plan: deque[tuple[float, str]] = deque()
