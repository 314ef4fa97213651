"""Access control, proved: every route, every kind of visitor.

``MATRIX`` says, for every (endpoint, method) the app serves, what each kind of visitor
gets: the page (OK), an action that goes through (ALLOWED), a redirect elsewhere
(REDIRECT), a redirect to sign in (SIGN_IN), or the 404 page (NOT_FOUND: a page for
another role, or someone else's object).

A route (a URL pattern and method) that is not in the matrix fails
``test_every_route_is_in_the_matrix``: a second URL for an endpoint already listed too.

How to add a route (others do this when they add pages):

1. Add the endpoint to ``MATRIX`` with one ``Case`` per method it answers (GET, POST...).
   ``path`` may use ``{placeholders}`` naming objects of ``World`` (``{service_x}`` is
   provider X's listing, ``{enquiry_a}`` citizen A's enquiry...).
2. Say who gets what with the helpers: ``everyone(OK)``, ``only(CIT_A, REP_A)`` (those
   visitors get the page, anonymous visitors are sent to sign in, everyone else gets
   404), ``only(STAFF_X, ok=ALLOWED)`` for actions, or write the dict out.
3. If the route needs an object the world lacks, create it in ``build_world`` and give
   it a name in ``World.ids``: one owned by A / provider X, and where it matters one
   owned by B / provider Y, so "someone else's object answers 404" is proved.

POST cases send the form without its fields (with a valid CSRF token), so an allowed
visitor sees the form again with errors, or the action is done and redirected; either
way it is not a 404 and not a redirect to sign in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from app.extensions import db
from app.models import (
    Enquiry,
    EnquiryMessage,
    Invitation,
    InvitationKind,
    Notification,
    OrgRole,
    ProviderStaff,
    ProviderStatus,
    ServiceClosure,
)
from app.services import accounts, calendars, mail
from app.services.tokens import new_token, token_hash
from tests.helpers import csrf_token

# Visitors
ANON, CIT_A, CIT_B, REP_A, STAFF_X, STAFF_Y, COMM, ADMIN = (
    "anonymous",
    "citizen A",
    "citizen B",
    "representative of A",
    "staff of provider X",
    "staff of provider Y",
    "commissioner",
    "admin",
)
VISITORS = (ANON, CIT_A, CIT_B, REP_A, STAFF_X, STAFF_Y, COMM, ADMIN)
SIGNED_IN = VISITORS[1:]
CITIZEN_SIDE = (CIT_A, CIT_B, REP_A)
PROVIDERS = (STAFF_X, STAFF_Y)
COUNCIL = (COMM, ADMIN)

# Outcomes
OK = "200 page"
ALLOWED = "allowed (200 or a redirect that is not to sign in)"
REDIRECT = "redirect elsewhere"
SIGN_IN = "redirect to sign in"
NOT_FOUND = "404"


def everyone(outcome: str = OK) -> dict[str, str]:
    return dict.fromkeys(VISITORS, outcome)


def only(*allowed: str, ok: str = OK, others: str = NOT_FOUND, anonymous: str = SIGN_IN) -> dict[str, str]:
    return {v: ok if v in allowed else (anonymous if v == ANON else others) for v in VISITORS}


def anonymous_page() -> dict[str, str]:
    """Pages for people not signed in (sign in, register): the signed-in go home."""
    return {v: OK if v == ANON else REDIRECT for v in VISITORS}


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    expect: dict[str, str]


def GET(path: str, expect: dict[str, str]) -> Case:
    return Case("GET", path, expect)


def POST(path: str, expect: dict[str, str]) -> Case:
    return Case("POST", path, expect)


SECURITY_TXT = NOT_FOUND  # the test world's council has given no contact (tests/views/test_security_txt.py has one)

MATRIX: dict[str, list[Case]] = {
    # -- public ------------------------------------------------------------------------------
    "public.home": [GET("/", everyone())],
    "public.category": [GET("/categories/home-care", everyone())],
    "public.service": [GET("/services/{service_x}", everyone())],
    "public.provider": [GET("/providers/{provider_x}", everyone())],
    "public.accessibility": [GET("/accessibility", everyone())],
    "public.cookies": [GET("/cookies", everyone())],
    "public.privacy": [GET("/privacy", everyone())],
    "public.reviews_policy": [GET("/reviews-policy", everyone())],
    "public.market_position": [GET("/market-position", everyone())],
    "public.health": [GET("/health", everyone())],
    "public.security_txt": [GET("/.well-known/security.txt", everyone(SECURITY_TXT))],
    # A person's calendar feed: the secret in the address is the key (calendars cannot sign in).
    "public.calendar_feed": [
        GET("/calendar/{calendar_feed_a}.ics", everyone()),
        GET("/calendar/not-a-real-secret.ics", everyone(NOT_FOUND)),
    ],
    "public.search_page": [GET("/search?q=care", everyone())],
    # -- the public JSON API -------------------------------------------------------------
    "api.services": [GET("/api/v1/services?q=care", everyone())],
    "api.openapi": [GET("/api/v1/openapi.json", everyone())],
    # -- the Open Referral UK feed: open to anyone, signed in or not -------------------------
    "openreferral.api_details": [GET("/openreferral/", everyone())],
    "openreferral.services": [GET("/openreferral/services?search=care", everyone())],
    "openreferral.service": [
        GET("/openreferral/services/{openreferral_service_x}", everyone()),
        GET("/openreferral/services/not-a-service-id", everyone(NOT_FOUND)),
    ],
    "openreferral.service_at_locations": [GET("/openreferral/service_at_locations?postcode=PE1+1XX", everyone())],
    "openreferral.taxonomies": [GET("/openreferral/taxonomies", everyone())],
    "openreferral.taxonomy_terms": [GET("/openreferral/taxonomy_terms", everyone())],
    "openreferral.openapi": [GET("/openreferral/openapi.json", everyone())],
    # -- auth: open to anyone ------------------------------------------------------------------
    "auth.sign_in": [GET("/sign-in", anonymous_page()), POST("/sign-in", {v: ALLOWED if v == ANON else REDIRECT for v in VISITORS})],
    # An emailed link that lets an account's owner sign in while guesses from elsewhere pause it.
    "auth.unlock": [GET("/sign-in/unlock/not-a-real-link", everyone(NOT_FOUND))],
    "auth.two_step_code": [GET("/sign-in/two-step", everyone(SIGN_IN)), POST("/sign-in/two-step", everyone(SIGN_IN))],
    "auth.sign_out": [POST("/sign-out", everyone(SIGN_IN))],
    "auth.register": [GET("/register", anonymous_page()), POST("/register", {v: ALLOWED if v == ANON else REDIRECT for v in VISITORS})],
    "auth.register_provider": [
        GET("/register/provider", anonymous_page()),
        POST("/register/provider", {v: ALLOWED if v == ANON else REDIRECT for v in VISITORS}),
    ],
    "auth.forgot_password": [GET("/password/forgot", everyone()), POST("/password/forgot", everyone(ALLOWED))],
    "auth.reset_password": [GET("/password/reset/{reset_token}", everyone()), POST("/password/reset/{reset_token}", everyone(ALLOWED))],
    # The link sent to a new email address: the secret in it is the key.
    "auth.confirm_email": [
        GET("/email/confirm/not-a-real-link", everyone(NOT_FOUND)),
        POST("/email/confirm/not-a-real-link", everyone(NOT_FOUND)),
    ],
    "auth.invitation": [GET("/invitations/{invitation_token}", everyone()), POST("/invitations/{invitation_token}", everyone(ALLOWED))],
    # -- your account: anyone signed in ---------------------------------------------------------
    "account.home": [GET("/account", only(*SIGNED_IN))],
    "account.details": [GET("/account/details", only(*SIGNED_IN)), POST("/account/details", only(*SIGNED_IN, ok=ALLOWED))],
    "account.check_your_email": [GET("/account/email/check-your-email", only(*SIGNED_IN, ok=REDIRECT))],
    "account.cancel_email_change": [POST("/account/email/cancel", only(*SIGNED_IN, ok=REDIRECT))],
    "account.change_password": [GET("/account/password", only(*SIGNED_IN)), POST("/account/password", only(*SIGNED_IN, ok=ALLOWED))],
    "account.two_step_setup": [GET("/account/two-step", only(*SIGNED_IN)), POST("/account/two-step", only(*SIGNED_IN, ok=ALLOWED))],
    "account.recovery_codes": [POST("/account/two-step/recovery-codes", only(*SIGNED_IN, ok=ALLOWED))],
    "account.two_step_off": [
        GET("/account/two-step/turn-off", only(*SIGNED_IN, ok=REDIRECT)),
        POST("/account/two-step/turn-off", only(*SIGNED_IN, ok=REDIRECT)),
    ],
    "account.sessions": [GET("/account/sessions", only(*SIGNED_IN))],
    "account.sign_out_others": [POST("/account/sessions/sign-out-others", only(*SIGNED_IN, ok=ALLOWED))],
    "account.sign_out_everywhere": [POST("/account/sessions/sign-out-everywhere", everyone(SIGN_IN))],
    "account.notification_list": [GET("/notifications", only(*SIGNED_IN))],
    "account.open_notification": [GET("/notifications/{notification_a}", only(CIT_A, ok=REDIRECT))],
    "account.mark_notifications_read": [POST("/notifications/mark-all-read", only(*SIGNED_IN, ok=ALLOWED))],
    "account.representatives": [GET("/account/representatives", only(CIT_A, CIT_B))],
    "account.invite_representative": [
        GET("/account/representatives/invite", only(CIT_A, CIT_B)),
        POST("/account/representatives/invite", only(CIT_A, CIT_B, ok=ALLOWED)),
    ],
    "account.remove_representative": [POST("/account/representatives/{representation_a}/remove", only(CIT_A, ok=ALLOWED))],
    "account.cancel_representative_invitation": [
        POST("/account/representatives/invitations/{representative_invitation_a}/cancel", only(CIT_A, ok=ALLOWED))
    ],
    "account.people": [GET("/account/people", only(REP_A))],
    "account.stop_representing": [POST("/account/people/{representation_a}/stop", only(REP_A, ok=ALLOWED))],
    # Your visits in your calendar: for the people who have visits (the council has none).
    "account.calendar": [GET("/account/calendar", only(*CITIZEN_SIDE, *PROVIDERS))],
    "account.new_calendar_link": [POST("/account/calendar/new-link", only(*CITIZEN_SIDE, *PROVIDERS, ok=ALLOWED))],
    "account.turn_off_calendar": [POST("/account/calendar/turn-off", only(*CITIZEN_SIDE, *PROVIDERS, ok=ALLOWED))],
    # -- enquiries, the citizen's side ------------------------------------------------------------
    "enquiries.inbox": [GET("/enquiries", only(*CITIZEN_SIDE))],
    "enquiries.new": [
        GET("/services/{service_x}/ask", only(*CITIZEN_SIDE)),
        POST("/services/{service_x}/ask", only(*CITIZEN_SIDE, ok=ALLOWED)),
    ],
    "enquiries.thread": [GET("/enquiries/{enquiry_a}", only(CIT_A, REP_A))],
    "enquiries.reply": [POST("/enquiries/{enquiry_a}/reply", only(CIT_A, REP_A, ok=ALLOWED))],
    "enquiries.close": [POST("/enquiries/{enquiry_a}/close", only(CIT_A, REP_A, ok=ALLOWED))],
    # -- booking and budgets, the citizen's side -----------------------------------------
    "citizen.book": [
        GET("/services/{service_x}/book", only(*CITIZEN_SIDE)),
        POST("/services/{service_x}/book", only(*CITIZEN_SIDE, ok=ALLOWED)),
    ],
    # Without a booking in progress in the visitor's own session there is nothing to check.
    "citizen.check_booking": [
        GET("/services/{service_x}/book/check?key=not-started", only()),
        POST("/services/{service_x}/book/check?key=not-started", only()),
    ],
    "citizen.overview": [GET("/my-care", only(*CITIZEN_SIDE))],
    "citizen.my_bookings": [GET("/bookings", only(*CITIZEN_SIDE))],
    "citizen.booking": [GET("/bookings/{booking_a}", only(CIT_A, REP_A))],
    "citizen.booking_calendar": [GET("/bookings/{booking_a}/calendar.ics", only(CIT_A, REP_A))],
    "citizen.cancel_booking": [
        GET("/bookings/{booking_a}/cancel", only(CIT_A, REP_A)),
        POST("/bookings/{booking_a}/cancel", only(CIT_A, REP_A, ok=ALLOWED)),
    ],
    "citizen.my_budgets": [GET("/budgets", only(*CITIZEN_SIDE, ok=ALLOWED))],
    "citizen.budget": [GET("/budgets/{budget_a}", only(CIT_A, REP_A))],
    "citizen.ask_for_finance_check": [
        GET("/budgets/{budget_a}/finance-check", only(CIT_A, REP_A)),
        POST("/budgets/{budget_a}/finance-check", only(CIT_A, REP_A, ok=ALLOWED)),
    ],
    "citizen.budget_statement_csv": [GET("/budgets/{budget_a}/statement.csv", only(CIT_A, REP_A))],
    "citizen.move_isf": [GET("/budgets/{isf_a}/move", only(CIT_A, REP_A)), POST("/budgets/{isf_a}/move", only(CIT_A, REP_A, ok=ALLOWED))],
    # -- paying by card, the citizen's side; the world has no Stripe keys, so the
    # card pages say card payments are not set up, and nothing is asked of Stripe ------------
    "citizen.choose_card": [
        GET("/services/{service_x}/book/card?key=not-started", only()),
        POST("/services/{service_x}/book/card?key=not-started", only()),
    ],
    "citizen.add_card": [GET("/cards/new", only(*CITIZEN_SIDE)), POST("/cards/new", only(*CITIZEN_SIDE, ok=ALLOWED))],
    "citizen.payments": [GET("/payments", only(*CITIZEN_SIDE))],
    # Only the card's owner: A's card still pays for A's booking, so removing it is refused.
    "citizen.remove_card": [GET("/cards/card-of-a/remove", only(CIT_A)), POST("/cards/card-of-a/remove", only(CIT_A, ok=ALLOWED))],
    "citizen.payments_csv": [GET("/payments/statement.csv", only(*CITIZEN_SIDE))],
    "citizen.owed": [GET("/payments/owed", only(*CITIZEN_SIDE))],
    # Only the citizen, whoever booked, or the card's holder pays what a visit owes (A booked
    # with A's card: A's representative sees it owed, but does not pay it).
    "citizen.pay_visit": [
        GET("/bookings/{card_booking_a}/visits/{unpaid_visit_a}/pay", only(CIT_A)),
        POST("/bookings/{card_booking_a}/visits/{unpaid_visit_a}/pay", only(CIT_A, ok=ALLOWED)),
    ],
    # The person or their representative confirms or disputes a delivered visit (A's is
    # disputed already, so the answer is a redirect back to the booking saying so).
    "citizen.confirm_visit": [POST("/bookings/{card_booking_a}/visits/{paid_visit_a}/confirm", only(CIT_A, REP_A, ok=ALLOWED))],
    # The person or their representative answers the council's audit question about A's budget.
    "citizen.answer_audit_question": [
        POST("/budgets/{budget_a}/audit-questions/{audit_question_a}/answer", only(CIT_A, REP_A, ok=ALLOWED)),
    ],
    # The person or their representative reviews a booking's service (A's card booking is
    # reviewed already: a redirect back to it saying so).
    "citizen.review_booking": [
        GET("/bookings/{card_booking_a}/review", only(CIT_A, REP_A, ok=ALLOWED)),
        POST("/bookings/{card_booking_a}/review", only(CIT_A, REP_A, ok=ALLOWED)),
    ],
    "citizen.dispute_visit": [
        GET("/bookings/{card_booking_a}/visits/{paid_visit_a}/dispute", only(CIT_A, REP_A, ok=ALLOWED)),
        POST("/bookings/{card_booking_a}/visits/{paid_visit_a}/dispute", only(CIT_A, REP_A, ok=ALLOWED)),
    ],
    # Only the card's holder confirms a payment with their bank.
    "citizen.confirm_payment": [
        GET("/payments/{payment_needing_bank_a}/confirm", only(CIT_A)),
        POST("/payments/{payment_needing_bank_a}/confirm", only(CIT_A, ok=ALLOWED)),
    ],
    # -- provider self-service: staff of their own provider only --------------------------------
    "provider.dashboard": [GET("/provider", only(*PROVIDERS))],
    "provider.resubmit": [POST("/provider/resubmit", only(*PROVIDERS, ok=ALLOWED))],
    "provider.profile": [GET("/provider/profile", only(*PROVIDERS)), POST("/provider/profile", only(*PROVIDERS, ok=ALLOWED))],
    "provider.team_list": [GET("/provider/team", only(*PROVIDERS))],
    "provider.invite": [GET("/provider/team/invite", only(*PROVIDERS)), POST("/provider/team/invite", only(*PROVIDERS, ok=ALLOWED))],
    "provider.change_member_role": [
        GET("/provider/team/{member_x}/role", only(STAFF_X)),
        POST("/provider/team/{member_x}/role", only(STAFF_X, ok=ALLOWED)),
    ],
    "provider.remove_member": [POST("/provider/team/{member_x}/remove", only(STAFF_X, ok=ALLOWED))],
    "provider.cancel_invitation": [POST("/provider/team/invitations/{staff_invitation_x}/cancel", only(STAFF_X, ok=ALLOWED))],
    "provider.services": [GET("/provider/services", only(*PROVIDERS))],
    "provider.new_service": [GET("/provider/services/new", only(*PROVIDERS)), POST("/provider/services/new", only(*PROVIDERS, ok=ALLOWED))],
    "provider.service": [GET("/provider/services/{service_x}", only(STAFF_X))],
    "provider.edit_service": [
        GET("/provider/services/{service_x}/edit", only(STAFF_X)),
        POST("/provider/services/{service_x}/edit", only(STAFF_X, ok=ALLOWED)),
    ],
    "provider.preview_service": [GET("/provider/services/{draft_x}/preview", only(STAFF_X))],
    "provider.publish_service": [POST("/provider/services/{draft_x}/publish", only(STAFF_X, ok=ALLOWED))],
    "provider.withdraw_service": [POST("/provider/services/{service_x}/withdraw", only(STAFF_X, ok=ALLOWED))],
    "provider.service_hours": [
        GET("/provider/services/{service_x}/hours", only(STAFF_X)),
        POST("/provider/services/{service_x}/hours", only(STAFF_X, ok=ALLOWED)),
    ],
    "provider.closures": [GET("/provider/closures", only(*PROVIDERS)), POST("/provider/closures", only(*PROVIDERS, ok=ALLOWED))],
    "provider.remove_closure": [POST("/provider/closures/{closure_x}/remove", only(STAFF_X, ok=ALLOWED))],
    "provider.add_bank_holidays": [POST("/provider/closures/bank-holidays", only(*PROVIDERS, ok=ALLOWED))],
    "provider.enquiry_list": [GET("/provider/enquiries", only(*PROVIDERS))],
    "provider.enquiry": [GET("/provider/enquiries/{enquiry_a}", only(STAFF_X))],
    "provider.reply_enquiry": [POST("/provider/enquiries/{enquiry_a}/reply", only(STAFF_X, ok=ALLOWED))],
    "provider.close_enquiry": [POST("/provider/enquiries/{enquiry_a}/close", only(STAFF_X, ok=ALLOWED))],
    "provider.bookings_inbox": [GET("/provider/bookings", only(*PROVIDERS))],
    "provider.booking": [GET("/provider/bookings/{booking_a}", only(STAFF_X))],
    "provider.booking_calendar": [GET("/provider/bookings/{booking_a}/calendar.ics", only(STAFF_X))],
    # A provider the budget pays (X: A's booking is with X) asks the council to check it.
    "provider.ask_for_finance_check": [
        GET("/provider/bookings/{booking_a}/finance-check", only(STAFF_X)),
        POST("/provider/bookings/{booking_a}/finance-check", only(STAFF_X, ok=ALLOWED)),
    ],
    "provider.accept_booking": [POST("/provider/bookings/{booking_a}/accept", only(STAFF_X, ok=ALLOWED))],
    "provider.decline_booking": [
        GET("/provider/bookings/{booking_a}/decline", only(STAFF_X)),
        POST("/provider/bookings/{booking_a}/decline", only(STAFF_X, ok=ALLOWED)),
    ],
    "provider.record_delivery": [POST("/provider/bookings/{booking_a}/visits/{visit_a}/delivered", only(STAFF_X, ok=ALLOWED))],
    "provider.refund_visit": [
        GET("/provider/bookings/{card_booking_a}/visits/{paid_visit_a}/refund", only(STAFF_X)),
        POST("/provider/bookings/{card_booking_a}/visits/{paid_visit_a}/refund", only(STAFF_X, ok=ALLOWED)),
    ],
    "provider.visits": [GET("/provider/visits", only(*PROVIDERS))],
    "provider.record_visit": [
        GET("/provider/visits/{visit_a}", only(STAFF_X)),
        POST("/provider/visits/{visit_a}", only(STAFF_X, ok=ALLOWED)),
    ],
    "provider.upload_visits": [
        GET("/provider/visits/upload", only(*PROVIDERS)),
        POST("/provider/visits/upload", only(*PROVIDERS, ok=ALLOWED)),
    ],
    # Every member of the team sees the bank details (masked); only an owner may send new ones
    # (STAFF_X and STAFF_Y are owners: an empty form comes back with its errors).
    "provider.bank_details": [
        GET("/provider/bank-details", only(*PROVIDERS)),
        POST("/provider/bank-details", only(*PROVIDERS, ok=ALLOWED)),
    ],
    # Payments and remittance advice: owners and managers of the provider paid (both visitors
    # are owners; a staff member is sent to the dashboard, tests/views/test_payment_runs.py).
    "provider.payments": [GET("/provider/payments", only(*PROVIDERS))],
    "provider.remittance": [GET("/provider/payments/{payment_line_x}", only(STAFF_X))],
    "provider.remittance_csv": [GET("/provider/payments/{payment_line_x}.csv", only(STAFF_X))],
    "provider.remittance_print": [GET("/provider/payments/{payment_line_x}/print", only(STAFF_X))],
    # Reviews: every member reads the provider's own; replying and reporting are for owners
    # and managers (both visitors are owners); another provider's review answers 404.
    "provider.reviews_list": [GET("/provider/reviews", only(*PROVIDERS))],
    "provider.reply_to_review": [
        GET("/provider/reviews/{review_x}/reply", only(STAFF_X)),
        POST("/provider/reviews/{review_x}/reply", only(STAFF_X, ok=ALLOWED)),
    ],
    "provider.report_review": [
        GET("/provider/reviews/{review_x}/report", only(STAFF_X, ok=ALLOWED)),
        POST("/provider/reviews/{review_x}/report", only(STAFF_X, ok=ALLOWED)),
    ],
    # -- commissioner tools: commissioners and admins ---------------------------------------------
    "commissioner.dashboard": [GET("/commissioner", only(*COUNCIL))],
    "commissioner.providers": [GET("/commissioner/providers", only(*COUNCIL))],
    "commissioner.cqc_data": [GET("/commissioner/providers/cqc", only(*COUNCIL))],
    "commissioner.provider": [GET("/commissioner/providers/{provider_pending}", only(*COUNCIL))],
    "commissioner.verify": [
        GET("/commissioner/providers/{provider_pending}/verify", only(*COUNCIL)),
        POST("/commissioner/providers/{provider_pending}/verify", only(*COUNCIL, ok=ALLOWED)),
    ],
    "commissioner.reject": [
        GET("/commissioner/providers/{provider_pending}/reject", only(*COUNCIL)),
        POST("/commissioner/providers/{provider_pending}/reject", only(*COUNCIL, ok=ALLOWED)),
    ],
    "commissioner.suspend": [
        GET("/commissioner/providers/{provider_x}/suspend", only(*COUNCIL)),
        POST("/commissioner/providers/{provider_x}/suspend", only(*COUNCIL, ok=ALLOWED)),
    ],
    "commissioner.reinstate": [POST("/commissioner/providers/{provider_suspended}/reinstate", only(*COUNCIL, ok=ALLOWED))],
    "commissioner.framework": [GET("/commissioner/framework", only(*COUNCIL))],
    "commissioner.new_framework": [
        GET("/commissioner/framework/new", only(*COUNCIL)),
        POST("/commissioner/framework/new", only(*COUNCIL, ok=ALLOWED)),
    ],
    "commissioner.new_lot": [
        GET("/commissioner/framework/{framework}/lots/new", only(*COUNCIL)),
        POST("/commissioner/framework/{framework}/lots/new", only(*COUNCIL, ok=ALLOWED)),
    ],
    "commissioner.lot": [GET("/commissioner/framework/lots/{lot}", only(*COUNCIL))],
    "commissioner.edit_lot": [
        GET("/commissioner/framework/lots/{lot}/edit", only(*COUNCIL)),
        POST("/commissioner/framework/lots/{lot}/edit", only(*COUNCIL, ok=ALLOWED)),
    ],
    "commissioner.approve": [
        GET("/commissioner/framework/lots/{lot}/approve", only(*COUNCIL)),
        POST("/commissioner/framework/lots/{lot}/approve", only(*COUNCIL, ok=ALLOWED)),
    ],
    "commissioner.suspend_membership": [
        GET("/commissioner/framework/lots/{lot}/memberships/{membership_x}/suspend", only(*COUNCIL)),
        POST("/commissioner/framework/lots/{lot}/memberships/{membership_x}/suspend", only(*COUNCIL, ok=ALLOWED)),
    ],
    "commissioner.settings": [GET("/commissioner/settings", only(*COUNCIL)), POST("/commissioner/settings", only(*COUNCIL, ok=ALLOWED))],
    "commissioner.audit_trail": [GET("/commissioner/audit", only(*COUNCIL))],
    "commissioner.audit_csv": [GET("/commissioner/audit.csv", only(*COUNCIL))],
    "commissioner.budgets_list": [GET("/commissioner/budgets", only(*COUNCIL))],
    "commissioner.new_budget": [
        GET("/commissioner/budgets/new", only(*COUNCIL)),
        POST("/commissioner/budgets/new", only(*COUNCIL, ok=ALLOWED)),
    ],
    "commissioner.budget": [GET("/commissioner/budgets/{budget_a}", only(*COUNCIL))],
    "commissioner.ask_for_finance_check": [
        GET("/commissioner/budgets/{budget_a}/finance-check", only(*COUNCIL)),
        POST("/commissioner/budgets/{budget_a}/finance-check", only(*COUNCIL, ok=ALLOWED)),
    ],
    "commissioner.budget_statement_csv": [GET("/commissioner/budgets/{budget_a}/statement.csv", only(*COUNCIL))],
    "commissioner.reverse_money_in": [
        GET("/commissioner/budgets/{budget_a}/payments/{funding_a}/reverse", only(*COUNCIL)),
        POST("/commissioner/budgets/{budget_a}/payments/{funding_a}/reverse", only(*COUNCIL, ok=ALLOWED)),
    ],
    "commissioner.bookings_list": [GET("/commissioner/bookings", only(*COUNCIL))],
    "commissioner.booking": [GET("/commissioner/bookings/{card_booking_a}", only(*COUNCIL))],
    # Refunds move money: commissioners, not admins.
    "commissioner.refund_visit": [
        GET("/commissioner/bookings/{card_booking_a}/visits/{paid_visit_a}/refund", only(COMM)),
        POST("/commissioner/bookings/{card_booking_a}/visits/{paid_visit_a}/refund", only(COMM, ok=ALLOWED)),
    ],
    "commissioner.visits": [GET("/commissioner/visits", only(*COUNCIL))],
    "commissioner.reported_reviews": [GET("/commissioner/reviews", only(*COUNCIL))],
    "commissioner.audit_sample": [GET("/commissioner/audits", only(*COUNCIL))],
    "commissioner.draw_audit_sample": [POST("/commissioner/audits/sample", only(*COUNCIL, ok=ALLOWED))],
    # Working an audit may move money: commissioners act, admins read.
    "commissioner.audit_case": [GET("/commissioner/audits/{budget_audit_a}", only(*COUNCIL))],
    "commissioner.ask_in_audit": [POST("/commissioner/audits/{budget_audit_a}/ask", only(COMM, ok=ALLOWED))],
    "commissioner.record_in_audit": [POST("/commissioner/audits/{budget_audit_a}/record", only(COMM, ok=ALLOWED))],
    "commissioner.close_audit": [POST("/commissioner/audits/{budget_audit_a}/close", only(COMM, ok=ALLOWED))],
    # (A's audit recovered nothing: giving money back is refused with a message, a redirect.)
    "commissioner.give_back_recovery": [POST("/commissioner/audits/{budget_audit_a}/give-back", only(COMM, ok=ALLOWED))],
    "commissioner.review_report": [
        GET("/commissioner/reviews/reports/{review_report_x}", only(*COUNCIL)),
        POST("/commissioner/reviews/reports/{review_report_x}", only(*COUNCIL, ok=ALLOWED)),
    ],
    # Deciding a visit moves money: commissioners decide, admins only look.
    "commissioner.visit_check": [
        GET("/commissioner/visits/{disputed_record_a}", only(*COUNCIL)),
        POST("/commissioner/visits/{disputed_record_a}", only(COMM, ok=ALLOWED)),
    ],
    "commissioner.bank_details": [GET("/commissioner/bank-details", only(*COUNCIL))],
    # Card money in clearing: commissioners only (money decisions are theirs, not admins').
    # The empty retry form has no key (sent back to the page); the empty settle form is
    # shown again with its errors (400).
    "commissioner.card_clearing": [GET("/commissioner/card-clearing", only(COMM))],
    "commissioner.card_clearing_item": [
        GET("/commissioner/card-clearing/{refused_refund_a}", only(COMM)),
        GET("/commissioner/card-clearing/not-a-refund", only(COMM, ok=NOT_FOUND)),
    ],
    "commissioner.card_clearing_retry": [POST("/commissioner/card-clearing/{refused_refund_a}/retry", only(COMM, ok=ALLOWED))],
    "commissioner.card_clearing_settle": [POST("/commissioner/card-clearing/{refused_refund_a}/settle", only(COMM, ok="status 400"))],
    "commissioner.bank_details_change": [
        GET("/commissioner/bank-details/{bank_change_x}", only(*COUNCIL)),
        POST("/commissioner/bank-details/{bank_change_x}", only(*COUNCIL, ok=ALLOWED)),
    ],
    # Payment runs: the world's run is approved already, so approving it again is a redirect
    # back to it and cancelling it is refused with a message (a redirect).
    "commissioner.payment_runs": [GET("/commissioner/payment-runs", only(*COUNCIL))],
    "commissioner.prepare_payment_run": [POST("/commissioner/payment-runs/prepare", only(*COUNCIL, ok=ALLOWED))],
    "commissioner.payment_run": [GET("/commissioner/payment-runs/{payment_run}", only(*COUNCIL))],
    "commissioner.approve_payment_run": [POST("/commissioner/payment-runs/{payment_run}/approve", only(*COUNCIL, ok=ALLOWED))],
    "commissioner.cancel_payment_run": [POST("/commissioner/payment-runs/{payment_run}/cancel", only(*COUNCIL, ok=ALLOWED))],
    "commissioner.payment_run_bacs": [GET("/commissioner/payment-runs/{payment_run}/bacs", only(*COUNCIL))],
    "commissioner.payment_run_csv": [GET("/commissioner/payment-runs/{payment_run}/csv", only(*COUNCIL))],
    "commissioner.card_spend": [GET("/commissioner/card-spend", only(*COUNCIL))],
    "commissioner.card_spend_csv": [GET("/commissioner/card-spend.csv", only(*COUNCIL))],
    "commissioner.market": [GET("/commissioner/market", only(*COUNCIL))],
    "commissioner.market_report": [GET("/commissioner/market/spend", only(*COUNCIL))],
    "commissioner.market_csv": [GET("/commissioner/market/spend/by-month.csv", only(*COUNCIL))],
    "commissioner.market_position": [
        GET("/commissioner/market/position", only(*COUNCIL)),
        POST("/commissioner/market/position", only(*COUNCIL, ok=ALLOWED)),
    ],
    "commissioner.needs_vocabulary": [
        GET("/commissioner/market/needs-vocabulary", only(*COUNCIL)),
        POST("/commissioner/market/needs-vocabulary", only(*COUNCIL, ok=ALLOWED)),
    ],
    "commissioner.remove_need_word": [POST("/commissioner/market/needs-vocabulary/{need_word}/remove", only(*COUNCIL, ok=ALLOWED))],
    "commissioner.reference_rates_page": [
        GET("/commissioner/market/reference-rates", only(*COUNCIL)),
        POST("/commissioner/market/reference-rates", only(*COUNCIL, ok=ALLOWED)),
    ],
    # -- admin: admins only ------------------------------------------------------------------------
    "admin.dashboard": [GET("/admin", only(ADMIN))],
    "admin.users": [GET("/admin/users", only(ADMIN))],
    "admin.user": [GET("/admin/users/{citizen_a}", only(ADMIN))],
    "admin.new_council_user": [GET("/admin/users/new", only(ADMIN)), POST("/admin/users/new", only(ADMIN, ok=ALLOWED))],
    "admin.change_role": [
        GET("/admin/users/{commissioner_2}/role", only(ADMIN)),
        POST("/admin/users/{commissioner_2}/role", only(ADMIN, ok=ALLOWED)),
    ],
    "admin.deactivate": [
        GET("/admin/users/{citizen_b}/deactivate", only(ADMIN)),
        POST("/admin/users/{citizen_b}/deactivate", only(ADMIN, ok=ALLOWED)),
    ],
    "admin.reactivate": [POST("/admin/users/{citizen_b}/reactivate", only(ADMIN, ok=ALLOWED))],
    "admin.emails": [GET("/admin/emails", only(ADMIN))],
    "admin.email": [GET("/admin/emails/{email}", only(ADMIN))],
    "admin.send_emails": [POST("/admin/emails/send", only(ADMIN, ok=ALLOWED))],
    "admin.jobs_page": [GET("/admin/jobs", only(ADMIN))],
    "admin.run_job": [POST("/admin/jobs/send-email/run", only(ADMIN, ok=ALLOWED))],
}

# Endpoints the matrix does not walk, with the reason.
NOT_WALKED = {
    "static": "files, not pages",
    # Called by Stripe, not by people: no session or CSRF, every request must carry a valid
    # Stripe signature. Proved in tests/services/test_stripe_webhooks.py.
    "webhooks.stripe_webhook": "Stripe's signed webhook, not a page",
}


@dataclass
class World:
    users: dict[str, object] = field(default_factory=dict)  # visitor -> User
    ids: dict[str, object] = field(default_factory=dict)  # placeholder -> id or token


@pytest.fixture
def fresh_world(
    make_citizen,
    make_representative,
    make_provider,
    make_provider_staff,
    make_service,
    make_user,
    make_commissioner,
    make_admin,
    make_lot,
    make_membership,
    make_budget,
    policy,
):
    w = World()
    citizen_a, citizen_b = make_citizen(name="Citizen A"), make_citizen(name="Citizen B")
    rep_a = make_representative(citizen_a, name="Representative of A")
    provider_x, provider_y = make_provider(name="Provider X"), make_provider(name="Provider Y")
    staff_x, staff_y = make_provider_staff(provider_x), make_provider_staff(provider_y)
    other_x = make_provider_staff(provider_x, OrgRole.STAFF, name="Another of X")
    pending = make_provider(name="Pending provider", status=ProviderStatus.PENDING)
    suspended = make_provider(name="Suspended provider", status=ProviderStatus.SUSPENDED, status_reason="Test")
    service_x, service_y = make_service(provider=provider_x), make_service(provider=provider_y)
    from app.models import ServiceStatus

    draft_x = make_service(provider=provider_x, status=ServiceStatus.DRAFT)
    lot = make_lot("home-care")
    membership_x = make_membership(lot, provider_x)
    commissioner, admin = make_commissioner(), make_admin()
    commissioner_2 = make_commissioner(name="Second commissioner")

    now = dt.datetime.now(dt.UTC)
    enquiry_a = Enquiry(
        service_id=service_x.id, provider_id=provider_x.id, citizen_id=citizen_a.id, started_by_id=citizen_a.id, subject="A's question"
    )
    enquiry_a.messages.append(EnquiryMessage(author_id=citizen_a.id, from_provider=False, body="Hello"))
    enquiry_b = Enquiry(
        service_id=service_y.id, provider_id=provider_y.id, citizen_id=citizen_b.id, started_by_id=citizen_b.id, subject="B's question"
    )
    enquiry_b.messages.append(EnquiryMessage(author_id=citizen_b.id, from_provider=False, body="Hello"))
    notification_a = Notification(user_id=citizen_a.id, subject="For A", body="", link="/enquiries")
    closure_x = ServiceClosure(provider_id=provider_x.id, starts_on=dt.date(2030, 1, 1), ends_on=dt.date(2030, 1, 1))
    invitation_token = new_token()
    rep_invitation = Invitation(
        kind=InvitationKind.REPRESENTATIVE,
        email="friend@example.test",
        token_hash=token_hash(invitation_token),
        invited_by_id=citizen_a.id,
        citizen_id=citizen_a.id,
        relationship_to_citizen="friend",
        expires_at=now + dt.timedelta(days=5),
    )
    staff_invitation = Invitation(
        kind=InvitationKind.PROVIDER_STAFF,
        email="new@provider-x.test",
        token_hash=token_hash(new_token()),
        invited_by_id=staff_x.id,
        provider_id=provider_x.id,
        org_role=OrgRole.STAFF,
        expires_at=now + dt.timedelta(days=5),
    )
    db.session.add_all([enquiry_a, enquiry_b, notification_a, closure_x, rep_invitation, staff_invitation])
    email = mail.queue("someone@example.test", "Test email", "Body")
    db.session.commit()
    reset_token = accounts.issue_password_token(citizen_b, 1)
    db.session.commit()
    from sqlalchemy import select

    # Money: A's and B's budgets, A's ISF with provider X, A's booking with X.
    from app.models import BudgetPeriod, BudgetType, Representation
    from app.services import bookings as booking_service
    from app.services import search as search_words
    from tests.services.money_helpers import future_day, request_for

    budget_a, budget_b = make_budget(citizen=citizen_a), make_budget(citizen=citizen_b)
    isf_a = make_budget(citizen=citizen_a, budget_type=BudgetType.ISF, isf_provider=provider_x)
    booking_a = booking_service.create(
        request_for(service_x, budget_a, day=future_day(policy)), citizen=citizen_a, booker=citizen_a, policy=policy
    )

    # Card payments: A's booking with X paid by A's card, with a visit paid (to
    # refund), one whose charge failed (to pay) and one whose bank wants A to confirm.
    card = _card_booking(citizen_a, service_x)
    paid = _paid_run(provider_x, staff_x, prepared_by=commissioner_2, approved_by=admin)
    card["disputed_record_a"] = _disputed_record(card["paid_visit_a"], recorded_by=staff_x, disputed_by=citizen_a)
    card["review_x"], card["review_report_x"] = _reported_review(card["card_booking_a"], reported_by=staff_x)
    card["budget_audit_a"], card["audit_question_a"] = _audit_with_question(budget_a, asked_by=commissioner)
    bank_change_x = _pending_bank_change(provider_x, submitted_by=staff_x)
    need_word = search_words.add_word(commissioner, phrase="stairlift", meaning="category:equipment")
    calendar_feed_a = calendars.new_feed(citizen_a).secret

    # The search index, so the search page and API answer as they do in service.
    from app.services import openreferral, search

    search.rebuild()

    w.users = {CIT_A: citizen_a, CIT_B: citizen_b, REP_A: rep_a, STAFF_X: staff_x, STAFF_Y: staff_y, COMM: commissioner, ADMIN: admin}
    w.ids = {
        "service_x": service_x.id,
        "service_y": service_y.id,
        "draft_x": draft_x.id,
        "provider_x": provider_x.id,
        "provider_y": provider_y.id,
        "provider_pending": pending.id,
        "provider_suspended": suspended.id,
        "enquiry_a": enquiry_a.id,
        "enquiry_b": enquiry_b.id,
        "notification_a": notification_a.id,
        "closure_x": closure_x.id,
        "representation_a": db.session.execute(select(Representation.id).where(Representation.citizen_id == citizen_a.id)).scalar_one(),
        "representative_invitation_a": rep_invitation.id,
        "staff_invitation_x": staff_invitation.id,
        "member_x": db.session.execute(select(ProviderStaff.id).where(ProviderStaff.user_id == other_x.id)).scalar_one(),
        "lot": lot.id,
        "framework": lot.framework_id,
        "membership_x": membership_x.id,
        "citizen_a": citizen_a.id,
        "citizen_b": citizen_b.id,
        "commissioner_2": commissioner_2.id,
        "email": email.id,
        "reset_token": reset_token,
        "invitation_token": invitation_token,
        "budget_a": budget_a.public_id,
        "budget_b": budget_b.public_id,
        "isf_a": isf_a.public_id,
        "booking_a": booking_a.public_id,
        "visit_a": booking_a.visits[0].id,
        "funding_a": db.session.execute(select(BudgetPeriod.transaction_id).where(BudgetPeriod.budget_id == budget_a.id)).scalars().first(),
        "bank_change_x": bank_change_x,
        "need_word": need_word.id,
        "openreferral_service_x": openreferral.ids.service(service_x.id),
        "calendar_feed_a": calendar_feed_a,
        **card,
        **paid,
    }
    db.session.commit()  # end the read transaction the ids above opened (SQLite would keep a lock)
    return w


@pytest.fixture
def world(app, snapshots, request):
    """The world ``fresh_world`` builds: built once per backend in each test worker, then
    put back from a snapshot for each test (tests/snapshots.py), users loaded afresh."""
    from app.models import User

    def build():
        built = request.getfixturevalue("fresh_world")
        return {visitor: user.id for visitor, user in built.users.items()}, dict(built.ids)

    user_ids, ids = snapshots.restore_or_build(app, "access-matrix-world", build)
    return World(users={visitor: db.session.get(User, user_id) for visitor, user_id in user_ids.items()}, ids=dict(ids))


def _card_booking(citizen, service) -> dict[str, object]:
    """A card booking's rows as card payments leave them (no Stripe needed to read them)."""
    from app.models import (
        Booking,
        BookingCard,
        BookingSchedule,
        BookingStatus,
        BookingVisit,
        CardFunding,
        CardPayment,
        CardPaymentKind,
        CardPaymentStatus,
        CardRefund,
        FundingRoute,
        PaymentCard,
        PaymentMethod,
        RefundStatus,
        VisitStatus,
    )

    card = PaymentCard(
        public_id="card-of-a",
        owner_id=citizen.id,
        stripe_payment_method_id="pm_matrix_a",
        brand="visa",
        last4="4242",
        exp_month=12,
        exp_year=2034,
        funding=CardFunding.DEBIT,
        route=FundingRoute.SELF_FUNDER,
    )
    booking = Booking(
        public_id="card-booking-of-a",
        reference="BK-CARDA1",
        request_key="matrix-card-a",
        service_id=service.id,
        provider_id=service.provider_id,
        citizen_id=citizen.id,
        booked_by_id=citizen.id,
        payment_method=PaymentMethod.CARD,
        schedule=BookingSchedule.WEEKLY,
        unit_price_pence=service.price_pence,
        price_unit=service.price_unit,
        total_pence=3 * service.price_pence,
        status=BookingStatus.ACCEPTED,
    )
    db.session.add_all([card, booking])
    db.session.flush()
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    visits = {}
    for name, weeks, status in (
        ("paid", -2, VisitStatus.DELIVERED),
        ("unpaid", -1, VisitStatus.UNPAID),
        ("upcoming", 1, VisitStatus.SCHEDULED),
    ):
        starts = start + dt.timedelta(weeks=weeks)
        delivered = status is not VisitStatus.SCHEDULED
        visits[name] = BookingVisit(
            booking_id=booking.id,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=1),
            units=1,
            amount_pence=service.price_pence,
            status=status,
            delivered_units=1 if delivered else None,
            charged_pence=service.price_pence if delivered else 0,
        )
    db.session.add_all([BookingCard(booking_id=booking.id, card_id=card.id), *visits.values()])
    db.session.flush()

    def payment(visit, kind, status, public_id, **extra):
        return CardPayment(
            public_id=public_id,
            visit_id=visit.id,
            booking_id=booking.id,
            card_id=card.id,
            kind=kind,
            status=status,
            funding=card.funding,
            route=card.route,
            amount_pence=service.price_pence,
            **extra,
        )

    needs_bank = payment(
        visits["upcoming"],
        CardPaymentKind.AUTHORISE,
        CardPaymentStatus.REQUIRES_ACTION,
        "payment-needing-bank-a",
        stripe_payment_intent_id="pi_matrix_action",
        client_secret="pi_matrix_action_secret_x",
    )
    db.session.add_all(
        [
            payment(
                visits["paid"],
                CardPaymentKind.CHARGE,
                CardPaymentStatus.CAPTURED,
                "payment-paid-a",
                captured_pence=service.price_pence,
                stripe_payment_intent_id="pi_matrix_paid",
            ),
            payment(visits["unpaid"], CardPaymentKind.CHARGE, CardPaymentStatus.FAILED, "payment-failed-a", failure_message="Declined."),
            needs_bank,
        ]
    )
    db.session.flush()
    paid = db.session.query(CardPayment).filter_by(public_id="payment-paid-a").one()
    refused = CardRefund(
        public_id="refused-refund-a",
        card_payment_id=paid.id,
        request_key="matrix-refused-a",
        amount_pence=500,
        reason="More than owed: given back automatically.",
        status=RefundStatus.FAILED,
        automatic=True,
        failure_message="The card has expired or been cancelled, so the bank could not take the refund.",
        created_at=start - dt.timedelta(days=2),
    )
    db.session.add(refused)
    db.session.commit()
    return {
        "refused_refund_a": refused.public_id,
        "card_booking_a": booking.public_id,
        "paid_visit_a": visits["paid"].id,
        "unpaid_visit_a": visits["unpaid"].id,
        "payment_needing_bank_a": needs_bank.public_id,
    }


def _disputed_record(visit_id: int, *, recorded_by, disputed_by) -> int:
    """The record of A's card visit paid, as the provider recorded it and A disputed it."""
    from app.models import BookingVisit, DisputeState, RecordSource, VisitOutcome, VisitRecord

    visit = db.session.get(BookingVisit, visit_id)
    record = VisitRecord(
        visit_id=visit.id,
        outcome=VisitOutcome.DELIVERED,
        actual_start=visit.starts_at,
        actual_end=visit.ends_at,
        source=RecordSource.FORM,
        recorded_by_id=recorded_by.id,
        dispute_state=DisputeState.OPEN,
        dispute_reason="Nobody came",
        disputed_at=dt.datetime.now(dt.UTC),
        disputed_by_id=disputed_by.id,
    )
    db.session.add(record)
    db.session.commit()
    return record.id


def _audit_with_question(budget, *, asked_by) -> tuple[int, int]:
    """A's budget in this year's audit sample, with a question waiting for A's answer."""
    from app.models import AuditQuestion, AuditSample, AuditStatus, BudgetAudit

    sample = AuditSample(year=dt.date.today().year, seed=1, share_percent=10, budgets_considered=2)
    db.session.add(sample)
    db.session.flush()
    picked = BudgetAudit(sample_id=sample.id, year=sample.year, budget_id=budget.id, at_random=True, status=AuditStatus.WAITING)
    db.session.add(picked)
    db.session.flush()
    asked = AuditQuestion(audit_id=picked.id, question="What is the money left over for?", asked_by_id=asked_by.id)
    db.session.add(asked)
    db.session.commit()
    return picked.id, asked.id


def _reported_review(booking_public_id: str, *, reported_by) -> tuple[int, int]:
    """A's review of provider X's service (from A's card booking), which X reported."""
    from app.models import Booking, RemovalReason, Review, ReviewReport

    booking = db.session.execute(db.select(Booking).where(Booking.public_id == booking_public_id)).scalar_one()
    now = dt.datetime.now(dt.UTC)
    review = Review(
        booking_id=booking.id,
        service_id=booking.service_id,
        provider_id=booking.provider_id,
        citizen_id=booking.citizen_id,
        author_id=booking.citizen_id,
        rating=2,
        on_time="no",
        dignity="yes",
        outcomes="partly",
        text="Late most days.",
        created_at=now,
        publishes_at=now,
    )
    db.session.add(review)
    db.session.flush()
    filed = ReviewReport(review_id=review.id, reported_by_id=reported_by.id, reason=RemovalReason.UNRELATED, note="Not our visits")
    db.session.add(filed)
    db.session.commit()
    return review.id, filed.id


def _pending_bank_change(provider, *, submitted_by) -> int:
    """New bank details for the provider, waiting for a commissioner to confirm them."""
    from app.models import BankAccountStatus, ProviderBankAccount

    change = ProviderBankAccount(
        provider_id=provider.id,
        sort_code="309430",
        account_number="00733445",
        account_name=provider.name,
        status=BankAccountStatus.PENDING,
        submitted_by_id=submitted_by.id,
    )
    db.session.add(change)
    db.session.commit()
    return change.id


def _paid_run(provider, staff, *, prepared_by, approved_by) -> dict[str, int]:
    """An approved payment run's rows, as approving leaves them: one line paying the provider
    into its confirmed account (no visits behind it: the pages only read the rows)."""
    from sqlalchemy import select

    from app.models import (
        BankAccountStatus,
        CouncilSettings,
        LedgerTransaction,
        LineStatus,
        PaymentRun,
        PaymentRunLine,
        ProviderBankAccount,
        RunStatus,
    )
    from app.services import payment_runs
    from app.uk_time import uk_today

    council = db.session.get(CouncilSettings, 1) or CouncilSettings(id=1, name="Test Council")
    council.bank_sort_code, council.bank_account_number, council.bacs_user_number = "309457", "12345678", "123456"
    account = ProviderBankAccount(
        provider_id=provider.id,
        sort_code="401234",
        account_number="87654321",
        account_name=provider.name,
        status=BankAccountStatus.CONFIRMED,
        submitted_by_id=staff.id,
    )
    today = uk_today()
    processing, pay = payment_runs.bacs_dates(today)
    run = PaymentRun(
        starts_on=today - dt.timedelta(days=35),
        ends_on=today - dt.timedelta(days=7),
        status=RunStatus.APPROVED,
        prepared_by_id=prepared_by.id,
        approved_by_id=approved_by.id,
        approved_at=dt.datetime.now(dt.UTC),
        processing_date=processing,
        pay_date=pay,
        visit_count=1,
        gross_pence=2_400,
        net_pence=2_400,
    )
    db.session.add_all([council, account, run])
    db.session.flush()
    line = PaymentRunLine(
        run_id=run.id,
        provider_id=provider.id,
        status=LineStatus.PAID,
        visit_count=1,
        gross_pence=2_400,
        net_pence=2_400,
        bank_account_id=account.id,
        reference=f"PR{run.id:04d} P{provider.id}",
        payout_transaction_id=db.session.execute(select(LedgerTransaction.id).limit(1)).scalar_one(),
        paid_at=run.approved_at,
        mean_days_to_pay=20,
    )
    db.session.add(line)
    db.session.commit()
    return {"payment_run": run.id, "payment_line_x": line.id}


def _signed_in_client(app, user):
    """A client signed in as ``user`` through a real server-side session (the sign-in
    form itself is tested in test_auth.py; here it would only cost time)."""
    client = app.test_client()
    token = accounts.complete_sign_in(user, "127.0.0.1", "matrix")
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    return client


def _outcome(response) -> str:
    status = response.status_code
    if status in (301, 302, 303):
        location = response.headers.get("Location", "")
        path = location.split("://", 1)[-1].split("/", 1)[-1] if "://" in location else location.lstrip("/")
        return SIGN_IN if path.startswith("sign-in") and not path.startswith("sign-in/") else REDIRECT
    if status == 200:
        return OK
    if status == 404:
        return NOT_FOUND
    return f"status {status}"


def _matches(expected: str, got: str) -> bool:
    if expected == ALLOWED:
        return got in (OK, REDIRECT)
    return expected == got


def _cases():
    for endpoint, cases in sorted(MATRIX.items()):
        for case in cases:
            yield pytest.param(endpoint, case, id=f"{case.method} {endpoint}")


@pytest.mark.parametrize("endpoint, case", list(_cases()))
def test_route_answers_each_visitor_as_the_matrix_says(app, world, endpoint, case):
    path = case.path.format(**world.ids)
    # Visitors who should be refused go first, so an allowed action cannot hide a refusal.
    order = sorted(VISITORS, key=lambda v: case.expect[v] in (OK, ALLOWED, REDIRECT))
    wrong = []
    for visitor in order:
        client = app.test_client() if visitor == ANON else _signed_in_client(app, world.users[visitor])
        response = client.get(path) if case.method == "GET" else client.post(path, data={"csrf_token": csrf_token(client)})
        got = _outcome(response)
        if not _matches(case.expect[visitor], got):
            wrong.append(f"{visitor}: expected {case.expect[visitor]}, got {got}")
        db.session.rollback()
    assert not wrong, f"{case.method} {path} ({endpoint}):\n  " + "\n  ".join(wrong)


class _AnyId(dict):
    """Stands in for World.ids when only the shape of a path matters: every placeholder is 1."""

    def __missing__(self, key):
        return "1"


def _rule_of(app, path: str, method: str):
    """The URL rule (pattern) that answers ``method path``, as the app routes it."""
    adapter = app.url_map.bind("localhost")
    rule, _ = adapter.match(path.split("?", 1)[0], method=method, return_rule=True)
    return rule


def _walked(app) -> set[tuple[str, str]]:
    """(URL pattern, method) of every case, checking each is served by its own endpoint."""
    walked, wrong = set(), []
    for endpoint, cases in MATRIX.items():
        for case in cases:
            rule = _rule_of(app, case.path.format_map(_AnyId()), case.method)
            if rule.endpoint != endpoint:
                wrong.append(f"{case.method} {case.path} is served by {rule.endpoint}, not {endpoint}")
            walked.add((rule.rule, case.method))
    assert not wrong, "Cases filed under the wrong endpoint:\n  " + "\n  ".join(wrong)
    return walked


def _served(app) -> set[tuple[str, str]]:
    """(URL pattern, method) of every route the app serves that the matrix must walk. Keyed
    by the URL pattern, not the endpoint, so a second URL for an existing view is a new
    route that must be placed in the matrix too."""
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in NOT_WALKED
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_is_in_the_matrix(app):
    served, walked = _served(app), _walked(app)
    missing = sorted(served - walked)
    assert not missing, (
        "These routes are not in the access matrix: add them to MATRIX in tests/views/test_access_matrix.py "
        f"(say what each kind of visitor gets): {missing}"
    )
    stale = sorted(walked - served)
    assert not stale, f"The access matrix lists routes the app does not serve: {stale}"


def test_a_second_url_for_an_existing_view_is_not_in_the_matrix_until_placed(app):
    """The hole this closes: keyed by endpoint, another URL rule for ``account.details``
    would have passed unwalked."""
    app.add_url_rule("/account/details-again", endpoint="account.details", methods=["GET", "POST"])
    missing = _served(app) - _walked(app)
    assert missing == {("/account/details-again", "GET"), ("/account/details-again", "POST")}


def test_every_visitor_is_in_every_case():
    for endpoint, cases in MATRIX.items():
        for case in cases:
            assert set(case.expect) == set(VISITORS), f"{endpoint} {case.method} does not say what every visitor gets"


def test_the_matrix_can_fail(app, world):
    """Guard against a matrix that passes whatever happens: a wrong expectation is caught."""
    client = _signed_in_client(app, world.users[CIT_B])
    assert _outcome(client.get(f"/enquiries/{world.ids['enquiry_a']}")) == NOT_FOUND
    assert not _matches(OK, NOT_FOUND)
    anonymous = app.test_client()
    assert _outcome(anonymous.get("/account")) == SIGN_IN
    assert _outcome(_signed_in_client(app, world.users[CIT_A]).get(f"/enquiries/{world.ids['enquiry_a']}")) == OK
