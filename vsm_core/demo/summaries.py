"""What a person types into a new issue: summary, priority, labels, components, points.

Summaries are built from small word lists so that issues read like a webshop team's
backlog and the dashboard's tables look plausible.
"""

from __future__ import annotations

import random

from vsm_core.demo.site import COMPONENTS, LABELS, PRIORITIES
from vsm_core.demo.team import Item

_ROLES = ("shopper", "guest", "admin", "support agent", "merchant", "returning customer", "finance user")
_ACTIONS = ("filter", "export", "save", "share", "compare", "bulk edit", "schedule", "undo changes to")
_THINGS = ("orders", "invoices", "search results", "the wishlist", "payment methods", "delivery slots",
           "product reviews", "saved carts", "notifications", "refund requests", "gift cards", "addresses")
_SYMPTOMS = ("shows a blank page", "times out", "loses the selected currency", "returns HTTP 500",
             "shows wrong totals", "is not translated", "crashes on iOS 18", "duplicates entries",
             "ignores the time zone", "sends two emails")
_CONDITIONS = ("after login", "with a discount code", "on slow networks", "for EU customers",
               "when the cart is empty", "in dark mode", "after a password reset", "at month end")
_TASKS = ("Upgrade {c} dependencies", "Add monitoring for {t}", "Clean up feature flag for {t}",
          "Migrate {t} to the new queue", "Document the {c} runbook", "Rotate {c} credentials",
          "Speed up the {c} build", "Add load test for {t}")
_EPICS = ("Self-service {t}", "{c} reliability", "New checkout for {t}", "Accessibility for {t}",
          "Faster {t}", "{c} platform migration")


def describe(item: Item, rng: random.Random) -> None:
    """Summary, priority, labels, components and points: the fields a person would type."""
    thing, component = rng.choice(_THINGS), rng.choice(COMPONENTS)
    _summary_and_points(item, rng, thing, component)
    kind = item.type
    weights = (8, 30, 50, 12) if kind == "Bug" else (1, 15, 66, 18)
    item.priority = "Medium" if kind in ("Epic", "Sub-task") else rng.choices(PRIORITIES, weights)[0]
    item.labels = rng.sample(LABELS, rng.choices((0, 1, 2, 3), (45, 35, 15, 5))[0])
    item.components = [component] + ([rng.choice(COMPONENTS)] if rng.random() < 0.15 else [])
    if len(item.components) == 2 and item.components[0] == item.components[1]:
        item.components.pop()


def _summary_and_points(item: Item, rng: random.Random, thing: str, component: str) -> None:
    """The summary in the style of the issue's type, and story points where a team sets them."""
    kind = item.type
    if kind == "Story":
        item.summary = f"As a {rng.choice(_ROLES)} I can {rng.choice(_ACTIONS)} {thing}"
        item.points = float(rng.choices((1, 2, 3, 5, 8, 13), (10, 20, 30, 25, 12, 3))[0])
    elif kind == "Bug":
        item.summary = f"{thing[0].upper()}{thing[1:]} {rng.choice(_SYMPTOMS)} {rng.choice(_CONDITIONS)}"
        if rng.random() < 0.3:
            item.points = float(rng.choice((1, 2, 3)))
    elif kind == "Task":
        item.summary = rng.choice(_TASKS).format(c=component, t=thing)
        if rng.random() < 0.5:
            item.points = float(rng.choice((1, 2, 3, 5)))
    elif kind == "Epic":
        item.summary = rng.choice(_EPICS).format(c=component, t=thing)
    else:
        item.summary = rng.choice(("Backend", "Frontend", "Tests", "Translations", "Tracking")) + f" for {thing}"
