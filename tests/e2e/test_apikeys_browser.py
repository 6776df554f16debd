"""The API key panel of the web client in headless Chromium (Playwright), against a real
uvicorn: a key made in the page works with the official `openai` client, is shown once,
stops working the moment it is revoked in the page, and is gone from the tab at logout."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from ragcode.accounts.apikeys import ApiKeyStoreError
from ragcode.embeddings.local import LocalEmbedder
from tests.openai_support import LiveServer, RecordingLLM, live_server
from tests.server_support import PASSWORD

pytestmark = pytest.mark.e2e
# A missing browser must fail the run, not skip it: CI installs both (scripts/install.sh --dev).
import playwright.sync_api as playwright  # noqa: E402

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.fail("chromium is not installed: run scripts/install.sh --dev", pytrace=False)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
# Shown as text, never parsed: parsed, it would become an <img> element (whose handler the
# CSP would block anyway, so the element itself is what the test looks for).
XSS_NAME = "<img src=x onerror=alert(1)>"


@pytest.fixture
def live(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[LiveServer]:
    with live_server(tmp_path / "data", RecordingLLM(lambda _m: "네."), embedder) as server:
        yield server


def test_a_key_made_in_the_page_works_until_revoked_there(live: LiveServer) -> None:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: dialog.accept())  # the revoke confirmation
        page.goto(live.url)
        page.fill("#auth-username", "minsu")
        page.fill("#auth-password", PASSWORD)
        page.click("#signup-button")
        page.wait_for_selector("#main:not([hidden])")
        page.wait_for_selector("#apikeys li")  # the list arrives after the page shows
        assert page.inner_text("#apikeys") == "API 키가 없습니다."

        page.fill("#apikey-name", XSS_NAME)
        page.click("#apikey-create")
        page.wait_for_selector("#apikey-created:not([hidden]) .apikey-value")
        key = page.inner_text("#apikey-created .apikey-value")
        assert key.startswith("rck_")
        assert f"{live.url}/v1" in page.inner_text("#apikey-created")
        page.wait_for_selector("#apikeys .apikey")
        assert page.inner_text("#apikeys .apikey-name") == XSS_NAME  # text, not markup
        assert page.locator("#apikeys img, #apikey-created img").count() == 0

        client = live.openai(key)
        reply = client.chat.completions.create(
            model="ragcode-chat", messages=[{"role": "user", "content": "안녕"}]
        )
        assert reply.choices[0].message.content == "네."

        page.reload()  # shown once: after a reload only the id and label remain
        page.wait_for_selector("#apikeys .apikey")
        assert key not in page.content()
        assert page.is_hidden("#apikey-created")

        page.click("#apikeys .apikey-revoke")
        page.wait_for_selector("#apikeys .apikey", state="detached")
        with pytest.raises(openai.AuthenticationError):
            client.models.list()

        # Logout: the next person on this tab must not find the key just made.
        page.click("#apikey-create")
        page.wait_for_selector("#apikey-created:not([hidden]) .apikey-value")
        second = page.inner_text("#apikey-created .apikey-value")
        page.click("#logout")
        page.wait_for_selector("#auth:not([hidden])")
        assert second not in page.content()
        assert page.eval_on_selector("#apikey-created", "e => e.childElementCount") == 0
        page.fill("#auth-username", "jiyoung")
        page.fill("#auth-password", PASSWORD)
        page.click("#signup-button")
        page.wait_for_selector("#main:not([hidden])")
        page.wait_for_selector("#apikeys li")
        assert page.inner_text("#apikeys") == "API 키가 없습니다."
        assert page.is_hidden("#apikey-created") and second not in page.content()
        assert errors == []
        browser.close()


def test_a_failing_key_list_is_a_notice_not_an_unhandled_rejection(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key is made, then reading the list fails (the store is down: 503): the page says
    so and keeps the new key on screen; no promise rejection is left unhandled."""
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(live.url)
        page.fill("#auth-username", "minsu")
        page.fill("#auth-password", PASSWORD)
        page.click("#signup-button")
        page.wait_for_selector("#main:not([hidden])")

        def down(*_args: object) -> object:
            raise ApiKeyStoreError("API 키 저장소 오류: database is locked")

        monkeypatch.setattr(live.state.stores.api_keys, "list_keys", down)
        page.click("#apikey-create")
        page.wait_for_selector("#apikey-created:not([hidden]) .apikey-value")
        page.wait_for_selector("#notice:not([hidden])")
        assert "잠시 후 다시 시도" in page.inner_text("#notice")
        page.wait_for_timeout(300)  # an unhandled rejection is reported after the handler
        assert errors == []
        browser.close()
