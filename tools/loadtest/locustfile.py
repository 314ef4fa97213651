"""Who the load test's simulated people are and what they do, through the real pages.

Anonymous visitors (most of the traffic) search with everyday words and postcodes and open
services; budget holders sign in and book one-off visits paid from their budget; a self-
funder books and pays by card (Stripe.js's part done against localstripe, as the tests do);
providers' owners accept new requests and record visits as delivered; a commissioner reads
the market reports. Every form is fetched first and posted back with its own CSRF token and
hidden fields (a booking's request key and expected total), as a browser does.

What the market says no to (a budget that has run out, a day the provider is closed, a
booking someone else accepted first) is a business outcome, counted apart: an error is only
a request that failed (a 5xx, a connection error) or a page that was not what a person
would have seen.

Run by `python -m tools.loadtest`, which sets LOADTEST_PLAN (tools/loadtest/plan.py's
JSON), LOADTEST_STRIPE_URL and LOADTEST_OUTCOMES (where the outcomes are written).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
import re
from collections import Counter
from pathlib import Path

from locust import HttpUser, between, events, task

from tools.loadtest.forms import Form, error_summary, form_with, forms, links, notice

PLAN = json.loads(Path(os.environ["LOADTEST_PLAN"]).read_text(encoding="utf-8")) if os.environ.get("LOADTEST_PLAN") else {}
STRIPE_URL = os.environ.get("LOADTEST_STRIPE_URL", "")
GOOD_CARD = "4242424242424242"
OUTCOMES: Counter[str] = Counter()
_next_account = Counter()


def outcome(name: str) -> None:
    OUTCOMES[name] += 1


@events.test_stop.add_listener
def _write_outcomes(**_kwargs) -> None:
    path = os.environ.get("LOADTEST_OUTCOMES")
    if path:
        Path(path).write_text(json.dumps(dict(OUTCOMES), indent=1, sort_keys=True), encoding="utf-8")


def account(kind: str) -> dict:
    """The accounts of one kind in turn, so every demo account is used."""
    people = PLAN[kind]
    turn = _next_account[kind]
    _next_account[kind] += 1
    return people[turn % len(people)]


def why(message: str) -> str:
    """A refusal, in a few words (for the outcome table)."""
    text = message.lower()
    for words, name in (
        (("budget", "available", "afford", "enough money"), "budget would run out"),
        (("closed", "bank holiday"), "provider closed that day"),
        (("fully booked", "no places", "capacity"), "fully booked"),
        (("same time", "both visits"), "clashes with another visit"),
        (("usual hours", "does not run", "start time"), "outside the service's hours"),
        (("declined",), "card declined"),
    ):
        if any(word in text for word in words):
            return name
    return message[:70] or "(no message)"


class BareRoute(HttpUser):
    """The floor the pages are compared with: a route that renders base.html and nothing
    else (bench/wsgi.py), asked for as fast as the simulated people can."""

    weight = 1

    @task
    def bare(self) -> None:
        self.client.get("/bench/base", name="/bench/base (bare route)")


class MarketUser(HttpUser):
    abstract = True
    wait_time = between(0.5, 2.5)

    def page(self, path: str, name: str | None = None) -> str:
        with self.client.get(path, name=name or path, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} for {path}")
            return response.text or ""

    def post(self, path: str, data: dict, name: str):
        """A form posted as the browser posts it, without following the redirect."""
        with self.client.post(path, data=data, name=name, allow_redirects=False, catch_response=True) as response:
            if response.status_code not in (200, 302, 303):
                response.failure(f"{response.status_code} for POST {path}")
            return response

    def sign_in(self, email: str) -> bool:
        form = form_with(self.page("/sign-in"), "email", "")
        response = self.post("/sign-in", form.data(email=email, password=PLAN["password"]), "/sign-in [POST]")
        if response.status_code != 302:
            response_text = error_summary(response.text) or "no redirect"
            outcome(f"sign-in refused: {response_text[:60]}")
            return False
        self.page(response.headers["Location"], "home after sign-in")
        return True


class AnonymousVisitor(MarketUser):
    """Searches with everyday words (half with a postcode) and opens what it finds."""

    weight = 80

    @task(6)
    def search_and_open(self) -> None:
        params = {"q": random.choice(PLAN["search_words"])}
        if random.random() < 0.5:
            params["postcode"] = random.choice(PLAN["postcodes"])
        with self.client.get("/search", params=params, name="/search", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} for search {params}")
                return
            found = links(response.text, r"/services/\d+")
        if not found:
            outcome("search found nothing")
            return
        for path in random.sample(found[:10], min(2, len(found))):
            self.page(path, "/services/[id]")

    @task(2)
    def open_a_service(self) -> None:
        self.page(f"/services/{random.choice(PLAN['service_ids'])}", "/services/[id]")

    @task(1)
    def home(self) -> None:
        self.page("/", "/")


def _booking_data(form: Form, payment: str, service_id: int) -> dict | None:
    times = [t for t in form.options.get("start_time", []) if t]
    if not times:
        return None
    day = dt.date.today() + dt.timedelta(days=random.randint(2, 26))
    citizen = form.values.get("citizen") or (form.options.get("citizen") or [""])[0]
    return form.data(
        citizen=citizen,
        schedule="one_off",
        first_date=[str(day.day), str(day.month), str(day.year)],
        start_time=random.choice(times),
        units=str(PLAN["min_units"].get(str(service_id), 1)),
        payment=payment,
        message="Load test booking",
    )


class Booker(MarketUser):
    """What budget holders and self-funders share: the booking form and the check page."""

    abstract = True
    kind = ""

    def on_start(self) -> None:
        self.me = account(self.kind)
        self.signed_in = self.sign_in(self.me["email"])

    def start_booking(self, payment_prefix: str):
        """Open a service and fill in its booking form: the response to that POST, or None."""
        if not self.me["services"]:
            outcome("nothing this account can book")
            return None
        service_id = random.choice(self.me["services"])
        self.page(f"/services/{service_id}", "/services/[id]")
        html = self.page(f"/services/{service_id}/book", "/services/[id]/book")
        form = form_with(html, "request_key", "")
        payments = [p for p in (form.options.get("payment", []) if form else []) if p.startswith(payment_prefix)]
        if not payments:
            outcome(f"no {payment_prefix} option offered")
            return None
        data = _booking_data(form, payments[0], service_id)
        if data is None:
            outcome("service offers no start times")
            return None
        response = self.post(f"/services/{service_id}/book", data, "/services/[id]/book [POST]")
        if response.status_code != 302:
            outcome(f"refused on the booking form: {why(error_summary(response.text))}")
            return None
        return response

    def confirm(self, check_html: str, paid_by: str) -> None:
        form = form_with(check_html, "expected_total", "/book/check")
        if form is None:
            outcome(f"refused on the check page: {why(error_summary(check_html) or notice(check_html))}")
            return
        both = form.options.get("both_at_once")
        if both:  # the person already has a visit then: the page asks, and they want both
            outcome("asked about a visit at the same time: wanted both")
        response = self.post(form.action, form.data(**({"both_at_once": both[0]} if both else {})), "/services/[id]/book/check [POST]")
        location = response.headers.get("Location", "")
        if response.status_code == 302 and "/bookings/" in location:
            self.page(location, "/bookings/[id]")
            outcome(f"booked, paid {paid_by}")
        elif response.status_code == 302:
            self.page(location, "after confirming (bank check)")
            outcome("booked, waiting for the bank's check")
        else:
            outcome(f"refused on confirming: {why(error_summary(response.text))}")

    @task(1)
    def my_care(self) -> None:
        if self.signed_in:
            self.page("/my-care", "/my-care")
            self.page("/bookings", "/bookings")


class BudgetHolder(Booker):
    """Margaret, her daughter Susan (who books for her) and Joan (an ISF), by turns."""

    weight = 8
    kind = "budget_holders"

    @task(3)
    def book_from_budget(self) -> None:
        if not self.signed_in:
            return
        response = self.start_booking("budget:")
        if response is not None:
            self.confirm(self.page(response.headers["Location"], "/services/[id]/book/check"), "from a budget")


class SelfFunder(Booker):
    """David, who pays by card: a saved card, or a new one through Stripe.js."""

    weight = 4
    kind = "self_funders"

    @task(3)
    def book_by_card(self) -> None:
        if not self.signed_in:
            return
        response = self.start_booking("card:self_funder")
        if response is None:
            return
        step = self.client.get(response.headers["Location"], name="/services/[id]/book/card", allow_redirects=False)
        if step.status_code == 302:  # no saved card: straight to adding one
            check_html = self.add_card(step.headers["Location"])
        else:
            check_html = self.choose_card(response.headers["Location"], step.text)
        if check_html:
            self.confirm(check_html, "by card")

    def choose_card(self, path: str, html: str) -> str:
        form = form_with(html, "card", "")
        saved = [c for c in (form.options.get("card", []) if form else []) if c != "new"]
        if not saved or random.random() < 0.1:
            chosen = self.post(path, form.data(card="new"), "/services/[id]/book/card [POST]")
            return self.add_card(chosen.headers.get("Location", "/cards/new"))
        chosen = self.post(path, form.data(card=saved[0]), "/services/[id]/book/card [POST]")
        return self.page(chosen.headers.get("Location", path), "/services/[id]/book/check")

    def add_card(self, path: str) -> str:
        """Enter the card (what Stripe.js sends localstripe), then press Save card."""
        html = self.page(path, "/cards/new")
        form = next((f for f in _forms_with_attr(html, "data-card-setup")), None)
        if form is None:
            outcome("no card form")
            return ""
        secret = form.attrs["data-client-secret"]
        body = {
            "key": form.attrs["data-publishable-key"],
            "use_stripe_sdk": True,
            "client_secret": secret,
            "payment_method_data": {
                "type": "card",
                "card": {"number": GOOD_CARD, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
                "billing_details": {"address": {"postal_code": "PE1 1AA"}},
            },
        }
        intent = secret.split("_secret_")[0]
        self.client.post(f"{STRIPE_URL}/v1/setup_intents/{intent}/confirm", json=body, name="stripe.js: confirm card set-up")
        route = form.values.get("route") or "self_funder"
        saved = self.post("/cards/new", form.data(route=route), "/cards/new [POST]")
        if saved.status_code != 302:
            outcome(f"card not saved: {why(error_summary(saved.text))}")
            return ""
        outcome("card saved")
        return self.page(saved.headers["Location"], "/services/[id]/book/check (after saving a card)")


def _forms_with_attr(html: str, attr: str):
    return (f for f in forms(html) if attr in f.attrs)


_RECORD = re.compile(r'href="(/provider/visits/\d+)"[^>]*>\s*Record\b')
_PLANNED = re.compile(r"Planned.*?<dd[^>]*>\s*([^<]+?) to ([^<,]+?),", re.S)


def _typed_time(shown: str) -> str:
    return {"midday": "12:00", "midnight": "00:00"}.get(shown.strip(), shown.strip())


class ProviderOwner(MarketUser):
    """The owners of the providers the citizens book: accept requests, record visits."""

    weight = 5

    def on_start(self) -> None:
        self.signed_in = self.sign_in(account("providers")["email"])

    @task(3)
    def accept_a_request(self) -> None:
        if not self.signed_in:
            return
        inbox = self.page("/provider/bookings", "/provider/bookings")
        requests = [p for p in links(inbox, r"/provider/bookings/[A-Za-z0-9_-]+") if p.count("/") == 3]
        if not requests:
            outcome("no requests to accept")
            return
        path = random.choice(requests[:10])
        form = form_with(self.page(path, "/provider/bookings/[id]"), "csrf_token", "/accept")
        if form is None:
            outcome("request already answered")
            return
        response = self.post(form.action, form.data(), "/provider/bookings/[id]/accept [POST]")
        said = notice(self.page(response.headers.get("Location", path), "/provider/bookings/[id]"))
        outcome("booking accepted" if "accepted." in said else f"accept refused: {said[:60]}")

    @task(2)
    def record_a_visit(self) -> None:
        if not self.signed_in:
            return
        to_record = _RECORD.findall(self.page("/provider/visits", "/provider/visits"))
        for path in itertools.islice(random.sample(to_record, len(to_record)), 3):
            html = self.page(path, "/provider/visits/[id]")
            form = form_with(html, "outcome", "")
            planned = _PLANNED.search(html)
            if form is None or planned is None:
                continue
            data = form.data(outcome="delivered", start_time=_typed_time(planned.group(1)), end_time=_typed_time(planned.group(2)))
            response = self.post(path, data, "/provider/visits/[id] [POST]")
            if response.status_code == 302:
                outcome("visit recorded as delivered")
                self.page(response.headers["Location"], "/provider/visits")
            else:
                outcome(f"visit not recorded: {why(error_summary(response.text))}")
            return
        outcome("no visit to record")


class Commissioner(MarketUser):
    """Tom reads the market reports, sometimes for one postcode district."""

    weight = 3

    def on_start(self) -> None:
        self.signed_in = self.sign_in(account("commissioners")["email"])

    @task
    def read_a_report(self) -> None:
        if not self.signed_in:
            return
        reports = links(self.page("/commissioner/market", "/commissioner/market"), r"/commissioner/market/[a-z-]+")
        reports = [p for p in reports if not p.endswith("/position")]
        if not reports:
            outcome("no reports listed")
            return
        path = random.choice(reports)
        html = self.page(path, "/commissioner/market/[report]")
        form = form_with(html, "district", "")
        districts = [d for d in (form.options.get("district", []) if form else []) if d]
        if districts and random.random() < 0.3:
            self.page(f"{path}?district={random.choice(districts)}", "/commissioner/market/[report]?district")
