"""The browser of the UI tests: Playwright driving Debian's Chromium (installed by
scripts/install.sh --dev), and signing up through the page. A missing browser fails the run,
never skips it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import playwright.sync_api as playwright
import pytest

from tests.server_support import PASSWORD

# The sample module the chat tests upload: two documented functions.
GREETER_PY = b'''def greet(name):
    """Return a friendly greeting for a person."""
    message = "Hello, " + name
    print(message)
    return message


def farewell(name):
    """Say goodbye to a person."""
    message = "Bye, " + name
    print(message)
    return message
'''
CHROMIUM = shutil.which("chromium")
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


@contextmanager
def launched_browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: run scripts/install.sh --dev", pytrace=False)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_up(page: Any, url: str, username: str) -> None:
    """Open the app, sign up (the first account is an admin) and wait for the chat socket."""
    page.goto(url)
    page.fill("#auth-username", username)
    page.fill("#auth-password", PASSWORD)
    page.click("#signup-button")
    page.wait_for_selector("#main:not([hidden])")
    page.wait_for_selector("#connection[data-status]")
