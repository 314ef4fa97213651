"""What the header, the service navigation and each section's own navigation offer, and
which one item of each is current (the longest path prefix that matches the page).

The header carries the account (notifications, your account, sign out); the service
navigation carries where each kind of person works, short enough to fit one row at
1280 pixels; commissioner, admin and provider pages add their section's navigation."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for
from flask_login import current_user

from app.services import accounts, budgets, notifications


@dataclass(frozen=True)
class Link:
    endpoint: str
    text: str
    prefixes: tuple[str, ...]  # paths at or under which this link is the current one


FIND_CARE = Link("public.home", "Find care", ("/search", "/categories", "/services", "/providers"))

SERVICE_LINKS: dict[str, tuple[Link, ...]] = {
    "citizen": (
        Link("citizen.overview", "Your care", ("/my-care",)),
        Link("citizen.my_bookings", "Bookings", ("/bookings",)),
        Link("citizen.my_budgets", "Budget", ("/budgets",)),
        Link("citizen.payments", "Payments", ("/payments", "/cards")),
        Link("enquiries.inbox", "Enquiries", ("/enquiries",)),
    ),
    "representative": (
        Link("citizen.overview", "Care you arrange", ("/my-care", "/account/people")),
        Link("citizen.my_bookings", "Bookings", ("/bookings",)),
        Link("citizen.my_budgets", "Budgets", ("/budgets",)),
        Link("citizen.payments", "Payments", ("/payments", "/cards")),
        Link("enquiries.inbox", "Enquiries", ("/enquiries",)),
    ),
    "provider": (
        Link("provider.dashboard", "Your organisation", ("/provider",)),
        Link("provider.bookings_inbox", "Bookings", ("/provider/bookings",)),
    ),
    "commissioner": (Link("commissioner.dashboard", "Commissioner tools", ("/commissioner",)),),
    "admin": (
        Link("admin.dashboard", "Admin", ("/admin",)),
        Link("commissioner.dashboard", "Commissioner tools", ("/commissioner",)),
    ),
}

SECTION_LINKS: dict[str, tuple[Link, ...]] = {
    "commissioner": (
        Link("commissioner.dashboard", "Overview", ("/commissioner",)),
        Link("commissioner.providers", "Providers", ("/commissioner/providers",)),
        Link("commissioner.framework", "Framework", ("/commissioner/framework",)),
        Link("commissioner.budgets_list", "Personal budgets", ("/commissioner/budgets",)),
        Link("commissioner.bookings_list", "Bookings", ("/commissioner/bookings",)),
        Link("commissioner.visits", "Visits to check", ("/commissioner/visits",)),
        Link("commissioner.market", "Market reports", ("/commissioner/market",)),
        Link("commissioner.payment_runs", "Payment runs", ("/commissioner/payment-runs",)),
        Link("commissioner.card_spend", "Card spend", ("/commissioner/card-spend",)),
        Link("commissioner.settings", "Council settings", ("/commissioner/settings",)),
        Link("commissioner.audit_trail", "Audit trail", ("/commissioner/audit",)),
    ),
    "provider": (
        Link("provider.dashboard", "Overview", ("/provider",)),
        Link("provider.services", "Listings", ("/provider/services",)),
        Link("provider.closures", "Closures", ("/provider/closures",)),
        Link("provider.enquiry_list", "Enquiries", ("/provider/enquiries",)),
        Link("provider.team_list", "Team", ("/provider/team",)),
        Link("provider.bookings_inbox", "Bookings", ("/provider/bookings",)),
        Link("provider.visits", "Visits", ("/provider/visits",)),
        Link("provider.payments", "Payments", ("/provider/payments",)),
    ),
    "admin": (
        Link("admin.dashboard", "Overview", ("/admin",)),
        Link("admin.users", "Accounts", ("/admin/users",)),
        Link("admin.emails", "Email outbox", ("/admin/emails",)),
        Link("admin.jobs_page", "Scheduled jobs", ("/admin/jobs",)),
    ),
}


def current_of(links: tuple[Link, ...], path: str) -> Link | None:
    """The one link the page is under: the longest prefix that matches (the home page is
    under "Find care")."""
    best, length = None, -1
    for link in links:
        for prefix in link.prefixes:
            if (path == prefix or path.startswith(prefix.rstrip("/") + "/")) and len(prefix) > length:
                best, length = link, len(prefix)
    if best is None and path == "/" and FIND_CARE in links:
        return FIND_CARE
    return best


def _items(links: tuple[Link, ...]) -> list[dict]:
    current = current_of(links, request.path if request else "")
    return [{"href": url_for(link.endpoint), "text": link.text, "active": link is current} for link in links]


def service_navigation() -> list[dict]:
    """The service navigation: finding care, then where this kind of person works."""
    links = (FIND_CARE, *SERVICE_LINKS.get(current_user.role.value, ())) if current_user.is_authenticated else (FIND_CARE,)
    if current_user.is_authenticated and current_user.arranges_care and not _has_a_budget():
        links = tuple(link for link in links if link.endpoint != "citizen.my_budgets")
    return _items(links)


def section_navigation(section: str) -> list[dict]:
    return _items(SECTION_LINKS[section])


def account_links() -> list[dict]:
    """The header's links: sign in, or the account's notifications and settings."""
    path = request.path if request else ""
    if not current_user.is_authenticated:
        return [{"href": url_for("auth.sign_in"), "text": "Sign in", "active": path.startswith("/sign-in")}]
    unread = notifications.unread_count(current_user)
    return [
        {
            "href": url_for("account.notification_list"),
            "text": f"Notifications ({unread} unread)" if unread else "Notifications",
            "active": path.startswith("/notifications"),
        },
        {"href": url_for("account.home"), "text": "Your account", "active": path == "/account" or path.startswith("/account/")},
    ]


def _has_a_budget() -> bool:
    """Whether the person (or anyone they act for) has a personal budget."""
    if current_user.is_citizen:
        return bool(budgets.budgets_for_citizen(current_user))
    return any(budgets.budgets_for_citizen(person) for person in accounts.citizens_represented_by(current_user))
