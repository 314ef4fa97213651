"""Browser tests: Playwright driving Debian's headless Chromium against the app served on
a loopback port, with demo data loaded. Accessibility is checked with axe-core (npm).

Two apps: ``storefront_app``/``storefront_server``/``storefront_page`` without card
payments (no localstripe needed), and ``live_app``/``live_server``/``page`` with card
payments against localstripe, for the journeys that pay by card.

Chromium comes from Debian (`apt-get install chromium chromium-driver`, or `make chromium`);
it is never downloaded by a test tool. Without it these tests are skipped, saying so.
"""

from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db

ROOT = Path(__file__).resolve().parents[2]
AXE_PATH = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), shutil.which("chromium"), "/usr/bin/chromium", shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _chromium()
    if path is None:
        pytest.skip(
            "Browser tests skipped: no Chromium found. Install it with `make chromium` "
            "(apt-get install chromium chromium-driver) or set CHROMIUM_PATH."
        )
    return path


def _demo_app(tmp: Path, *, history: bool = True, **config):
    """The app with demo data and its search index, on SQLite, as `make run` serves it
    (``history=False``: without the year of market history, for pages that do not show it)."""
    from flask_migrate import upgrade

    from app.services import demo

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'e2e.sqlite3'}",
            "SEARCH_INDEX_DIR": str(tmp / "search-index"),
            "INSTANCE_PATH": str(tmp),
            "DEMO_MODE": True,
            **config,
        }
    )
    with app.app_context():
        upgrade()
        demo.load(demo_mode=True, history=history)
        for step in E2E_SETUP_STEPS:
            step(app)
        db.session.remove()
    return app


@contextmanager
def served(app):
    """Serve ``app`` on a free loopback port for the duration; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def card_payments_config(localstripe) -> dict:
    """Settings for card payments against localstripe on loopback."""
    from tests.payments_fixtures import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET

    return {
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": localstripe.url,
    }


def demo_app_with_cards(tmp: Path, localstripe):
    """The app with demo data, on SQLite, as `make run` would serve it: card payments
    against localstripe on loopback (started for the test session, as the suite does)."""
    return _demo_app(tmp, **card_payments_config(localstripe))


@pytest.fixture(scope="session")
def live_app(tmp_path_factory, localstripe):
    return demo_app_with_cards(tmp_path_factory.mktemp("e2e"), localstripe)


def _build_search_index(app) -> None:
    from app.services import search

    search.rebuild()


# Later parts of the product add set-up here.
E2E_SETUP_STEPS: list = [_build_search_index]


@pytest.fixture(scope="session")
def live_server(live_app):
    with served(live_app) as url:
        yield url


# -- The storefront, without card payments (so without localstripe) ---------------------------

# Routes that exist only in this test app (never in create_app), to open the error pages
# that nothing a visitor does can reach on demand.
TEST_ONLY_ERRORS = {
    "400": "/test-only/error/400",
    "409": "/test-only/error/409",
    "429": "/test-only/error/429",
    "500": "/test-only/error/500",
    "503": "/test-only/error/503",
}


def _add_test_only_error_routes(app) -> None:
    from werkzeug.exceptions import BadRequest, ServiceUnavailable, TooManyRequests

    from app.services.errors import Conflict

    @app.get(TEST_ONLY_ERRORS["400"])
    def _test_only_bad_request():
        raise BadRequest()

    @app.get(TEST_ONLY_ERRORS["409"])
    def _test_only_conflict():
        raise Conflict("This booking has already been accepted.")

    @app.get(TEST_ONLY_ERRORS["429"])
    def _test_only_too_many_requests():
        raise TooManyRequests()

    @app.get(TEST_ONLY_ERRORS["500"])
    def _test_only_unexpected_error():
        raise RuntimeError("a fault for the browser tests")

    @app.get(TEST_ONLY_ERRORS["503"])
    def _test_only_unavailable():
        raise ServiceUnavailable()


@pytest.fixture(scope="session")
def storefront_app(tmp_path_factory):
    """The demo app without Stripe keys (card choices say card payments are not set up),
    so the storefront's browser tests need no localstripe; plus the test-only error routes."""
    app = _demo_app(tmp_path_factory.mktemp("e2e-storefront"), history=False)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the 500 page, as in production
    _add_test_only_error_routes(app)
    return app


@pytest.fixture(scope="session")
def storefront_server(storefront_app):
    with served(storefront_app) as url:
        yield url


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        yield browser
        browser.close()


def _new_page(browser, base_url: str):
    # bypass_csp lets the test inject axe-core; the app's own pages run under the real CSP.
    context = browser.new_context(base_url=base_url, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    return context, page


@pytest.fixture
def page(browser, live_server):
    context, page = _new_page(browser, live_server)
    yield page
    context.close()


@pytest.fixture
def storefront_page(browser, storefront_server):
    context, page = _new_page(browser, storefront_server)
    yield page
    context.close()


def axe_violations(page) -> list[dict]:
    """Run axe-core on the current page for WCAG 2.2 A and AA; return the violations."""
    page.add_script_tag(content=AXE_PATH.read_text())
    return page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)
            }));
        }""",
        WCAG_TAGS,
    )


def assert_accessible(page) -> None:
    """No axe-core violations (WCAG 2.2 A and AA), and the page reflows at 320 pixels."""
    violations = axe_violations(page)
    assert violations == [], f"axe-core found WCAG 2.2 AA violations on {page.url}: {violations}"
    assert_reflows(page)


# WCAG 1.4.10: content reflows at 320 CSS pixels wide with no sideways scrolling of the page
# (a table may scroll inside its own region).
REFLOW_WIDTH = 320


def sideways_overflow(page) -> list[str]:
    """At 320 pixels wide: the elements that stick out past the right edge of the page, if
    the page scrolls sideways (empty when it does not)."""
    size = page.viewport_size or {"width": 1280, "height": 720}
    page.set_viewport_size({"width": REFLOW_WIDTH, "height": 640})
    try:
        return page.evaluate(
            r"""() => {
                const doc = document.documentElement;
                if (doc.scrollWidth <= window.innerWidth) return [];
                const out = [];
                for (const el of document.body.querySelectorAll('*')) {
                    const box = el.getBoundingClientRect();
                    if (box.right > window.innerWidth + 1 && !el.closest('.app-table-scroll')) {
                        const id = el.id ? '#' + el.id : '';
                        const names = typeof el.className === 'string' ? el.className.trim() : '';
                        const cls = names ? '.' + names.split(/\s+/).join('.') : '';
                        out.push(`${el.tagName.toLowerCase()}${id}${cls} (right edge ${Math.round(box.right)})`);
                    }
                }
                return out.slice(-8);
            }"""
        )
    finally:
        page.set_viewport_size(size)


def assert_reflows(page) -> None:
    overflow = sideways_overflow(page)
    assert overflow == [], f"{page.url} scrolls sideways at {REFLOW_WIDTH} pixels; what sticks out: {overflow}"


def sign_in_as(page, email: str, password: str | None = None) -> None:
    """Sign in through the real sign-in page (demo accounts share one password)."""
    from app.services.demo.accounts import DEMO_PASSWORD

    page.goto("/sign-in")
    page.fill("#email", email)
    page.fill("#password", password or DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_load_state()


def check_pages(page, paths) -> None:
    """Open each page: it answers 200, passes axe (WCAG 2.2 AA) and throws no JavaScript error."""
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, path
        assert_accessible(page)
    assert page.js_errors == []
