"""Helpers for asserting what a person sees on a page."""

from __future__ import annotations

import re
import threading

from bs4 import BeautifulSoup


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def visible_text(response_or_soup) -> str:
    soup = response_or_soup if isinstance(response_or_soup, BeautifulSoup) else page(response_or_soup)
    for tag in soup(["script", "style"]):
        tag.decompose()
    return squash(soup.get_text(" "))


def h1(response) -> str:
    return squash(page(response).find("h1").get_text(" "))


def title(response) -> str:
    return squash(page(response).title.get_text())


def summary_rows(response) -> dict[str, str]:
    """The GOV.UK summary lists on a page, as {key: value}."""
    rows = {}
    for row in page(response).select(".govuk-summary-list__row"):
        key = row.select_one(".govuk-summary-list__key")
        value = row.select_one(".govuk-summary-list__value")
        if key and value:
            rows[squash(key.get_text(" "))] = squash(value.get_text(" "))
    return rows


def links(response) -> dict[str, str]:
    return {squash(a.get_text(" ")): a.get("href") for a in page(response).find_all("a")}


# -- Signing in and forms ------------------------------------------------------

_CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_from(response) -> str:
    """The CSRF token of the first form on a page."""
    match = _CSRF_RE.search(response.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def csrf_token(client, path: str | None = None) -> str:
    """A valid CSRF token for this client's session: from ``path`` if given, else from a
    page every visitor can load that carries one (the sign-in page, or any page's
    sign-out button when signed in)."""
    if path:
        return csrf_from(client.get(path))
    response = client.get("/sign-in")
    if response.status_code != 200:
        response = client.get("/account")
    return csrf_from(response)


def post_form(client, path: str, data: dict | None = None, *, form_page: str | None = None, **kwargs):
    """POST ``data`` to ``path`` with a CSRF token taken from ``form_page`` (default: the
    same path, else any page with a token)."""
    token = None
    if form_page or data is not None:
        page_response = client.get(form_page or path)
        if page_response.status_code == 200 and _CSRF_RE.search(page_response.get_data(as_text=True)):
            token = csrf_from(page_response)
    token = token or csrf_token(client)
    return client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)


def sign_in(client, user, password: str | None = None, *, expect_success: bool = True):
    """Sign in through the real form; answers the two-step question when needed."""
    from tests.factories import DEFAULT_PASSWORD

    response = client.get("/sign-in")
    response = client.post(
        "/sign-in", data={"csrf_token": csrf_from(response), "email": user.email, "password": password or DEFAULT_PASSWORD}
    )
    if response.status_code == 302 and response.headers["Location"].endswith("/sign-in/two-step"):
        page_response = client.get("/sign-in/two-step")
        response = client.post("/sign-in/two-step", data={"csrf_token": csrf_from(page_response), "code": next_code(user)})
    if expect_success:
        assert response.status_code == 302, f"sign-in failed: {visible_text(response)[:300]}"
    return response


def next_code(user) -> str:
    """A TOTP code the server has not accepted yet (codes cannot be used twice)."""
    import pyotp

    from app.extensions import db
    from app.services import two_step

    db.session.refresh(user)
    totp = pyotp.TOTP(two_step.plain_secret(user))
    import datetime as _dt

    now = _dt.datetime.now(_dt.UTC)
    step = totp.timecode(now)
    if user.totp_last_step is not None and user.totp_last_step >= step:
        step = user.totp_last_step + 1  # the next step is accepted (one step either side)
    return totp.generate_otp(step)


def outbox(to: str | None = None) -> list:
    """Emails in the outbox, oldest first (optionally only those to one address)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import OutboundEmail

    query = select(OutboundEmail).order_by(OutboundEmail.id)
    if to:
        query = query.where(OutboundEmail.to_address == to)
    return list(db.session.execute(query).scalars())


def link_in(email, prefix: str) -> str:
    """The first link in an email's text whose path starts with ``prefix``."""
    match = re.search(r"https?://[^/\s]+(" + re.escape(prefix) + r"[^\s]*)", email.body_text)
    assert match, f"no {prefix} link in: {email.body_text}"
    return match.group(1)


def table_rows(response) -> list[list[str]]:
    """Each row of the page's tables, as the text of its cells (header rows left out)."""
    return [[cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"])] for row in page(response).select("tbody tr")]


def at_once(app, count, work):
    """Run ``work(i)`` in ``count`` threads, each with its own connection, released
    together by a barrier; their results in order (an exception is a result too)."""
    from app.extensions import db

    barrier = threading.Barrier(count)
    results: list = [None] * count
    db.session.commit()  # the test's own transaction must not hide their work

    def worker(i):
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                results[i] = work(i)
            except Exception as exc:  # asserted on by the test
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    # A thread still running has no result yet: counting its None as a success would hide a hang.
    hung = [i for i, thread in enumerate(threads) if thread.is_alive()]
    assert not hung, f"threads {hung} of {count} did not finish within 180 s"
    db.session.rollback()
    return results


def run_at_once(app, count, work):
    """``at_once``, its results split: (what the successes returned, the exceptions raised)."""
    results = at_once(app, count, work)
    return [r for r in results if not isinstance(r, Exception)], [r for r in results if isinstance(r, Exception)]
