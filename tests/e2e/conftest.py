"""Browser tests: Playwright (Python) driving Debian's Chromium against pytest-django's live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread, and Django refuses ORM calls from a
# thread with a running loop unless told it is safe (it is: the test and the server share no loop).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("BIENESTAR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "contraseña-segura-1"  # the UserFactory's password
TABLET = {"width": 1024, "height": 768}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} not found: apt-get install chromium (never `playwright install`)"
        if os.environ.get("BIENESTAR_REQUIRE_BROWSER") == "1":
            pytest.fail(message)  # CI installs it: a skipped browser test there is a failure
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) on a tablet-size screen, pointed at the live server. The
    browser asks for English: pages must still be Spanish until the user switches."""
    context = browser.new_context(viewport=TABLET, base_url=live_server.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/entrar/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form.stack button[type=submit]")


@pytest.fixture
def sign_in() -> Any:
    """`sign_in(page, username[, password])` submits the log-in form."""
    return _sign_in
