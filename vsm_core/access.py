"""Who may see and change a dataset.

Two modes, chosen by the server's configuration:

* **Links (no login, the default).** Each dataset has two capabilities, both carried by links:

  - *view*: knowing the dataset id. Ids are 144 random bits (``store.new_dataset_id``), never
    listed to anyone without rights, so a view link cannot be guessed or enumerated.
  - *edit*: knowing the dataset's **edit key**, a second secret of 192 random bits made with
    the dataset. Only its SHA-256 digest is stored, so someone who can read the store's files
    (or a backup) cannot rebuild the edit link; a new key can be made from the command line
    (``vsm links DATASET --new-edit-key``), which voids the old edit link.

  An edit link can upload a new data version, edit and save the stage map, record
  experiments, rename and delete; a view link can do none of those.

* **Login (OpenID Connect).** Every page asks to log in. The account that uploads a dataset
  owns it and is the only one that edits it; accounts (e-mail addresses) the owner shares it
  with may view it. Links carry no rights in this mode: a view link opened by an account the
  dataset was not shared with shows nothing of it.

The demo dataset is public to view and edited by nobody through the dashboard, in both modes.
The command line works on the store directly and is not limited: whoever runs it can read the
store's files anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

EDIT_KEY_BYTES = 24
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")


def new_edit_key() -> str:
    return secrets.token_urlsafe(EDIT_KEY_BYTES)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_matches(key: str | None, digest: str | None) -> bool:
    """Whether ``key`` is the edit key whose digest is stored (constant-time comparison)."""
    if not key or not digest or not _KEY_RE.match(key):
        return False
    return hmac.compare_digest(key_digest(key), digest)


def normal_email(text: str) -> str:
    """An e-mail address as accounts are compared (trimmed, lower case); ValueError when it is
    not one."""
    email = str(text).strip().lower()
    if not _EMAIL_RE.match(email):
        raise ValueError(f"{str(text)[:80]!r} is not an e-mail address; give one like ana@example.com.")
    return email


@dataclass(frozen=True)
class Visitor:
    """Who is asking: the account (login mode) and the edit keys this browser session holds."""

    login: bool = False  # True: the server asks every visitor to log in
    email: str | None = None  # the logged-in account, lower case
    edit_keys: tuple[tuple[str, str], ...] = ()  # (dataset id, edit key) pairs

    def key_for(self, dataset: str) -> str | None:
        return next((key for owned, key in self.edit_keys if owned == dataset), None)


def can_view(visitor: Visitor, access: dict, *, demo: bool = False) -> bool:
    """Whether ``visitor`` may see the dataset whose access record is ``access`` (the
    ``access`` object of its ``dataset.json``). Without login, reaching this check means the
    visitor knew the id, which is the view right."""
    if demo or not visitor.login:
        return True
    if not visitor.email:
        return False
    return visitor.email == access.get("owner") or visitor.email in access.get("viewers", [])


def can_edit(visitor: Visitor, dataset: str, access: dict, *, demo: bool = False) -> bool:
    """Whether ``visitor`` may change the dataset (new version, stage map, experiments, rename,
    delete)."""
    if demo:
        return False
    if visitor.login:
        return bool(visitor.email) and visitor.email == access.get("owner")
    return key_matches(visitor.key_for(dataset), access.get("edit_key_sha256"))


def can_list(visitor: Visitor, dataset: str, access: dict, *, demo: bool = False) -> bool:
    """Whether the dataset appears in the visitor's list of datasets: the demo, the ones the
    visitor may edit and, with login, the ones shared with the visitor."""
    if demo:
        return True
    if visitor.login:
        return can_view(visitor, access)
    return can_edit(visitor, dataset, access)
