"""The simulated Jira site's catalogue: its address, projects, components, labels,
resolutions, priorities, issue types and custom fields, in the JSON shapes the REST API uses.

Ids and URLs follow a Jira Cloud site, so an export looks like one downloaded from
``/rest/api/2`` and the importers meet the shapes they meet in the field.
"""

from __future__ import annotations

SITE = "https://demo-team.atlassian.net"
API = SITE + "/rest/api/2"

PROJECTS = (("SHOP", "Webshop"), ("PAY", "Payments"), ("MOB", "Mobile App"), ("SRCH", "Search"),
            ("ACC", "Accounts"), ("CAT", "Catalogue"), ("ORD", "Orders"), ("INV", "Inventory"),
            ("NOTIF", "Notifications"), ("DATA", "Data Platform"), ("CHK", "Checkout"),
            ("LOY", "Loyalty"), ("SUP", "Support Tools"), ("REC", "Recommendations"),
            ("SHIP", "Shipping"), ("PRC", "Pricing"), ("ID", "Identity"), ("RPT", "Reporting"))
COMPONENTS = ("API", "Web", "Mobile", "Backend", "Database", "Infrastructure", "Design System", "Integrations")
LABELS = ("frontend", "backend", "tech-debt", "customer", "security", "performance", "accessibility", "ux")

RESOLUTIONS = {
    "Done": ("10000", "Work has been completed on this issue."),
    "Won't Do": ("10001", "This issue won't be actioned."),
    "Duplicate": ("10002", "The problem is a duplicate of an existing issue."),
    "Cannot Reproduce": ("10003", "All attempts at reproducing this issue failed."),
}
RESOLUTION_JSON = {
    name: {"self": f"{API}/resolution/{rid}", "id": rid, "description": desc, "name": name}
    for name, (rid, desc) in RESOLUTIONS.items()
}
PRIORITIES = ("Highest", "High", "Medium", "Low")
PRIORITY_JSON = {
    name: {"self": f"{API}/priority/{i + 1}", "iconUrl": f"{SITE}/images/icons/priorities/{name.lower()}.svg", "name": name, "id": str(i + 1)}
    for i, name in enumerate(PRIORITIES)
}
ISSUE_TYPES = {  # name: (id, subtask, hierarchy level, description)
    "Epic": ("10000", False, 1, "A big user story that needs to be broken down."),
    "Story": ("10001", False, 0, "Functionality or a feature expressed as a user goal."),
    "Task": ("10002", False, 0, "A small, distinct piece of work."),
    "Sub-task": ("10003", True, -1, "A small piece of work that's part of a larger task."),
    "Bug": ("10004", False, 0, "A problem or error."),
}
ISSUE_TYPE_JSON = {
    name: {"self": f"{API}/issuetype/{tid}", "id": tid, "description": desc,
           "iconUrl": f"{SITE}/images/icons/issuetypes/{name.lower().replace('-', '')}.svg",
           "name": name, "subtask": sub, "hierarchyLevel": level}
    for name, (tid, sub, level, desc) in ISSUE_TYPES.items()
}

STORY_POINTS_FIELD = "customfield_10016"
RANK_FIELD = "customfield_10019"
SPRINT_FIELD = "customfield_10020"
FLAGGED_FIELD = "customfield_10021"
FLAG_VALUE = [{"self": f"{API}/customFieldOption/10019", "value": "Impediment", "id": "10019"}]


def points_text(points: float) -> str:
    """Story points as Jira shows them: ``3`` for whole numbers, ``0.5`` otherwise."""
    return str(int(points)) if points == int(points) else str(points)
