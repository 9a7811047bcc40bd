"""Browser tests: the app served on loopback in a thread, driven by Debian's chromium.

They use their own SQLite file (a live server cannot share the test's transaction).
"""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from shuangsuiji.cli.db import alembic_config

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SKIP_REASON = os.environ.get("BROWSER_SKIP_REASON")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            if SKIP_REASON or not os.path.exists(CHROMIUM):
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON or "chromium not installed"))


@pytest.fixture(scope="module")
def live_app(tmp_path_factory):
    from alembic import command

    from shuangsuiji.app import create_app
    from shuangsuiji.cli import demo_data as demo

    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'browser.db'}"
    command.upgrade(alembic_config(url), "head")
    app = create_app({"ENV": "testing", "DATABASE_URL": url})
    with app.extensions["shuangsuiji.db"].transaction() as session:
        demo.load(session)
    return app


@pytest.fixture(scope="module")
def base_url(live_app):
    """The app on a loopback port, with a background worker running beside it."""
    from shuangsuiji.worker import Worker

    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    config = dict(live_app.config, WORKER_POLL_SECONDS=0.2)
    worker = Worker(live_app.extensions["shuangsuiji.db"], config, name="browser-tests")
    worker_thread = threading.Thread(target=worker.run, daemon=True)
    worker_thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    worker.stopping.set()
    worker_thread.join(10)
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    yield page
    context.close()
