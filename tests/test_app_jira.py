"""The Upload page's Connect to Jira in AppTest, against the fake Jira on 127.0.0.1: a server
account in secrets is used when the token field is left empty; a refresh is offered only to
those who may edit the dataset (its edit link), never to a view link."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import REPO
from fake_jira import FakeJira
from streamlit.testing.v1 import AppTest

TOKEN = "tok-31c9e0a7f5b24d8e96c1"
EMAIL = "reader@example.com"


@pytest.fixture
def jira(tmp_path, monkeypatch):
    import streamlit as st

    monkeypatch.setenv("VSM_STORE", str(tmp_path / "store"))
    st.cache_data.clear()
    st.cache_resource.clear()
    with FakeJira.demo(flavour="cloud", email=EMAIL, token=TOKEN, page_size=100) as fake:
        yield fake
    st.cache_resource.clear()


def _upload_page(params: dict | None = None, secrets: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    for name, value in (params or {}).items():
        at.query_params[name] = value
    for name, value in (secrets or {}).items():
        at.secrets[name] = value
    at.run()
    at.switch_page("pages/upload.py").run()
    assert not at.exception, at.exception
    return at


def _widget(widgets, label: str):
    """The widget labelled ``label``; the Connect to Jira tab's when both tabs have one."""
    return [w for w in widgets if w.label == label][-1]


def _texts(at: AppTest) -> str:
    return "\n".join([str(t.value) for t in at.text] + [str(m.value) for m in at.markdown]
                     + [str(s.value) for s in at.success] + [str(e.value) for e in at.error])


def test_server_account_pulls_when_the_token_field_is_empty_and_edit_rights_refresh(jira, tmp_path):
    from vsm_core.store import open_store

    at = _upload_page(secrets={"jira": {"url": jira.url, "email": EMAIL, "token": TOKEN}})
    assert _widget(at.text_input, "Jira site").value == jira.url
    token = _widget(at.text_input, "API token")
    assert token.value == "" and token.placeholder == "from the server's settings"
    _widget(at.text_area, "JQL").set_value("project = SHOP")
    _widget(at.text_input, "Name of the pulled dataset").set_value("Webshop")
    _widget(at.button, "Pull from Jira").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Pulled 3,000 issues from Jira. Imported 3,000 issues" in _texts(at)
    pulled = next(info for info in open_store(tmp_path / "store").datasets() if info.name == "Webshop")
    # A view link: no refresh, no new version; the edit link: both.
    viewer = _upload_page({"dataset": pulled.dataset})
    assert "was pulled from Jira" not in _texts(viewer)
    assert not [c for c in viewer.checkbox if c.label.startswith("Add as a new data version")]
    editor = _upload_page({"dataset": pulled.dataset, "edit": open_store(tmp_path / "store").new_edit_key(pulled.dataset)},
                          secrets={"jira": {"url": jira.url, "email": EMAIL, "token": TOKEN}})
    assert "was pulled from Jira" in _texts(editor) and "JQL: project = SHOP" in _texts(editor)
    assert not [w for w in editor.text_input if w.key == "jira_refresh_token"]  # the server's account is used
    _widget(editor.button, "Refresh from Jira").click().run()
    assert not editor.exception and not editor.error, [e.value for e in editor.error]
    assert "Nothing was updated in Jira since" in editor.info[0].value
    assert open_store(tmp_path / "store").get(pulled.dataset).versions == (1,)
    jira.update_issue("SHOP-7", "Done", datetime.now(UTC))
    _widget(editor.button, "Refresh from Jira").click().run()
    assert "Pulled 1 issue from Jira updated since" in _texts(editor)
    assert open_store(tmp_path / "store").get(pulled.dataset).versions == (1, 2)


def test_without_a_token_the_pull_asks_for_one(jira):
    at = _upload_page()
    _widget(at.text_input, "Jira site").set_value(jira.url)
    _widget(at.text_area, "JQL").set_value("project = SHOP")
    _widget(at.button, "Pull from Jira").click().run()
    assert [e.value for e in at.error] == ["Give the API token (it is used for this pull only and not stored)."]
    _widget(at.text_input, "Jira site").set_value("not a site")
    _widget(at.text_input, "API token").set_value(TOKEN)
    _widget(at.button, "Pull from Jira").click().run()
    assert "is not a Jira site address" in at.error[0].value
