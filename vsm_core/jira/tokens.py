"""Where a Jira API token may come from, and the one place it is saved when the user asks.

A token is read from an environment variable (``--token-env``, default ``JIRA_API_TOKEN``),
else from the token file, else asked for at the terminal. It is written to disk only by
``save_token`` (``vsm pull --save-token``): to ``$XDG_CONFIG_HOME/vsm-dashboard/jira-tokens.json``
(default ``~/.config/...``), a file created readable and writable by its owner only (0600) in
a folder only its owner can enter (0700). It is never put in a URL, a log or the store.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

DEFAULT_TOKEN_ENV = "JIRA_API_TOKEN"


def token_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "vsm-dashboard" / "jira-tokens.json"


def _slot(url: str, email: str | None) -> str:
    return f"{url} {email or ''}".strip()


def saved_token(url: str, email: str | None) -> str | None:
    """The token saved for this site and account, if any (a file others can read is ignored)."""
    path = token_file()
    try:
        if path.stat().st_mode & 0o077:
            return None
        return json.loads(path.read_text(encoding="utf-8")).get(_slot(url, email))
    except (OSError, ValueError, AttributeError):
        return None


def save_token(url: str, email: str | None, token: str) -> Path:
    """Save the token for this site and account, readable by its owner only; returns the file."""
    path = token_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        saved = saved if isinstance(saved, dict) else {}
    except (OSError, ValueError):
        saved = {}
    saved[_slot(url, email)] = token
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(saved, handle)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path
