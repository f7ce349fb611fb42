"""The people on a simulated team: names, Atlassian account ids and the user JSON Jira writes
for them, plus the "Automation for Jira" app that ships releases.

Names mix European first and last names (with accents and apostrophes) so importers and
charts meet the characters real sites have.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from vsm_core.demo.site import API

FIRST_NAMES = ("Anna", "Lukas", "Sofia", "Mateo", "Emma", "Jonas", "Léa", "Marco", "Zoë", "Piotr", "Inês",
               "Henrik", "Chiara", "Tomás", "Freya", "Ahmed", "Julia", "Niklas", "Elif", "Daan", "Maja",
               "Oskar", "Clara", "Rui", "Agnieszka", "Sven", "Lucía", "Emil", "Noor", "Hugo", "Ingrid",
               "Matteo", "Aleksander", "Eva", "Björn", "Sara", "Jan", "Laura", "Miguel", "Katarina")
LAST_NAMES = ("Schmidt", "García", "Rossi", "Nowak", "Jansen", "Dubois", "Müller", "Kowalski", "Andersson",
              "Costa", "Horvat", "Novák", "Fischer", "Martín", "Bianchi", "de Vries", "Lindqvist", "O'Brien",
              "Nielsen", "Weber", "Ferreira", "Papadopoulos", "Kaya", "Virtanen", "Moreau", "Szabó",
              "Hansen", "Ruiz", "Ricci", "Popescu")


@dataclass(eq=False)
class Person:
    """A Jira user: display name, account id and the user JSON written wherever they appear."""

    name: str
    account_id: str
    json: dict


def person(name: str, account_id: str, *, app: bool = False) -> Person:
    """A person with the avatar, time zone and account type Jira Cloud gives them."""
    initials = "".join(part[0] for part in name.split()[:2]).upper()
    digest = hashlib.md5(account_id.encode()).hexdigest()
    avatar = ("https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/"
              f"initials/{initials}-{int(digest[:2], 16) % 6}.png")
    return Person(name, account_id, {
        "self": f"{API}/user?accountId={account_id.replace(':', '%3A')}",
        "accountId": account_id,
        "avatarUrls": {f"{s}x{s}": avatar for s in (48, 24, 16, 32)},
        "displayName": name,
        "active": True,
        "timeZone": "Europe/Berlin" if not app else "Etc/GMT",
        "accountType": "atlassian" if not app else "app",
    })


AUTOMATION = person("Automation for Jira", "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077", app=True)


def account_id(rng: random.Random) -> str:
    """An account id in one of the two forms Jira Cloud uses (old 24-hex or ``712020:uuid``)."""
    if rng.random() < 0.5:
        return "%024x" % rng.getrandbits(96)
    raw = "%032x" % rng.getrandbits(128)
    return f"712020:{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
