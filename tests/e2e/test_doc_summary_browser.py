"""A document uploaded in Chromium (Playwright) is summarised by the real embedded model into
the chat: the summary streams into its own bubble, in Korean, and stays after a reload."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from ragcode.app import App
from ragcode.server.factory import create_app
from tests.artifacts import artifacts_dir
from tests.browser_support import sign_up
from tests.web_server import running_server

pytestmark = pytest.mark.e2e
SCREENSHOTS = artifacts_dir()  # never docs/: docs/take_screenshots.py takes those
GUIDE = """# 재택근무 운영 안내

## 신청
재택근무는 전날 오후 6시까지 팀장에게 메신저로 신청합니다. 한 주에 최대 이틀까지 가능합니다.

## 근무 시간
재택근무일에도 오전 10시부터 오후 4시까지는 메신저에 접속해 있어야 합니다.

## 보안
회사 노트북만 사용하고, 공용 와이파이에서는 VPN을 반드시 켭니다.
"""
HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")


def test_an_uploaded_document_is_summarised_by_the_real_model(
    browser: Any, make_app: Callable[..., App]
) -> None:
    core = make_app()  # the real embedded 0.5B model
    core.settings.documents.summarize_uploads = True
    with running_server(create_app(core)) as base:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_up(page, base, "writer")
        page.set_input_files(
            "#upload-input",
            files=[{"name": "재택근무.md", "mimeType": "text/markdown", "buffer": GUIDE.encode()}],
        )
        bubble = page.locator(".message.doc-summary")
        bubble.wait_for(timeout=60000)
        assert "문서 요약: 재택근무.md" in bubble.locator(".meta").inner_text()
        bubble.locator(".tools .copy").wait_for(timeout=240000)  # the summary is done
        text = bubble.locator(".bubble").inner_text()
        assert re.search("[가-힣]", text) and not HAN.search(text), text
        assert text.startswith("문서 요약: 재택근무.md"), text  # the Markdown heading
        assert any(word in text for word in ("재택", "VPN", "신청", "메신저")), text
        page.screenshot(path=str(SCREENSHOTS / "doc-summary.png"), full_page=False)
        page.reload()
        restored = page.locator(".message.assistant .bubble", has_text="문서 요약: 재택근무.md")
        restored.first.wait_for(timeout=30000)  # kept in history
        assert not errors, errors
        page.close()
