"""The dashboard's side of ``vsm_core.access``: who the visitor is, the edit keys this browser
session holds, the login gate, and the links an editor hands out.

An edit link is ``?dataset=<id>&edit=<key>``. The key is taken out of the address bar on the
first run (kept in the session), so copying the address or the share link never passes edit
rights on by accident; the Datasets page shows the edit link again to whoever holds it.
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from vsm_core.access import Visitor, can_edit, can_list, can_view, normal_email
from vsm_core.store import DatasetInfo

_KEYS = "edit_keys"


def login_enabled() -> bool:
    """Whether the server is configured for login (an ``[auth]`` table in its secrets)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, OSError):
        return False
    except Exception:  # noqa: BLE001 - an unreadable secrets file: no login configured
        return False


AUTH_SETTINGS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")


def _missing_settings() -> list[str]:
    try:
        table = st.secrets["auth"]
        return [name for name in AUTH_SETTINGS if not str(table.get(name, "")).strip()]
    except Exception:  # noqa: BLE001 - an unreadable table misses everything
        return list(AUTH_SETTINGS)


def require_login() -> None:
    """With login configured, stop the page with a login button until the visitor logs in
    with an account that has a verified e-mail address; once in, the sidebar names the
    account and offers to log out."""
    if not login_enabled():
        return
    if st.user.is_logged_in:
        if visitor().email is None:
            st.error("Your identity provider sent no verified e-mail address for this account, and datasets are "
                     "owned and shared by e-mail address; ask your administrator to include the email claim.")
            st.button("Log out", on_click=st.logout)
            st.stop()
        with st.sidebar:
            st.caption(f"Logged in as {visitor().email}")
            st.button("Log out", on_click=st.logout, icon=":material/logout:")
        return
    st.title("Value stream map")
    missing = _missing_settings()
    if missing:
        st.error(f"Login is switched on but its [auth] table in secrets.toml lacks {', '.join(missing)}; "
                 "ask the administrator to add them (see .streamlit/secrets.toml.example).")
        st.stop()
    st.info("Log in to see the datasets you own or that were shared with you.", icon=":material/lock:")
    st.button("Log in", type="primary", on_click=st.login, icon=":material/login:")
    st.stop()


def take_edit_key_from_url() -> None:
    """Move an ``edit`` key from the URL into the session (see the module docstring)."""
    key = st.query_params.get("edit")
    dataset = st.query_params.get("dataset")
    if key is not None:
        st.query_params.pop("edit", None)
        if dataset:
            remember_edit_key(dataset, key)


def remember_edit_key(dataset: str, key: str) -> None:
    keys = dict(st.session_state.get(_KEYS, {}))
    keys[dataset] = key
    st.session_state[_KEYS] = keys


def visitor() -> Visitor:
    login = login_enabled()
    email = None
    if login and st.user.is_logged_in and st.user.get("email_verified") is not False:
        # Accounts are e-mail addresses; an address the provider says is unverified is not one
        # (a provider that lets anyone register could otherwise claim a shared address).
        try:
            email = normal_email(str(st.user.get("email") or ""))
        except ValueError:
            email = None
    return Visitor(login=login, email=email, edit_keys=tuple(sorted(st.session_state.get(_KEYS, {}).items())))


def may_view(info: DatasetInfo) -> bool:
    return can_view(visitor(), info.access, demo=info.demo)


def may_edit(info: DatasetInfo) -> bool:
    return can_edit(visitor(), info.dataset, info.access, demo=info.demo)


def may_list(info: DatasetInfo) -> bool:
    return can_list(visitor(), info.dataset, info.access, demo=info.demo)


def links(info: DatasetInfo) -> tuple[str, str | None]:
    """(view link, edit link) of the dataset for this visitor; the edit link only for a holder
    of its key (without login)."""
    base = app_root()
    view = f"{base}/?{urlencode({'dataset': info.dataset})}"
    key = visitor().key_for(info.dataset)
    edit = f"{base}/?{urlencode({'dataset': info.dataset, 'edit': key})}" if key and may_edit(info) else None
    return view, edit


def app_root() -> str:
    """The app's address without the page (``http://host:8501`` or ``https://host/vsm``)."""
    from vsm_app.navigation import HOME, PAGES

    url = (st.context.url or "").split("?", 1)[0].rstrip("/")
    for url_path in (HOME, *(row[-1] for row in PAGES)):
        if url.endswith("/" + url_path):
            return url[: -len(url_path) - 1]
    return url


def refuse(action: str, info: DatasetInfo) -> None:
    """One sentence where an editing control would be, for a visitor who may only view."""
    if info.demo:
        st.caption(f"The demo dataset is read-only: upload your own export to {action}.")
    elif login_enabled():
        st.caption(f"Only the dataset's owner can {action}.")
    else:
        st.caption(f"To {action}, open this dataset's edit link (the uploader has it).")
