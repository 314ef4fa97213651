"""Card payments through Stripe (only ``stripe_api`` in this package imports ``stripe``).

How a card booking is paid
--------------------------
* The payer (the citizen, or their representative) saves a card first: a Stripe
  SetupIntent confirmed in the browser by Stripe.js (``start_card_setup`` then
  ``finish_card_setup``). We record the card's brand, last four digits and its funding type
  (prepaid, debit, credit) as the card network reports it, and the route the payer told us
  (their council prepaid card for a direct payment, or their own money). A prepaid card is
  never refused for being prepaid.
* At booking, each visit that starts within ``AUTHORISE_WITHIN`` (Stripe keeps a card
  authorisation for 7 days; we leave two for recording the visit) is authorised on the card
  (a PaymentIntent with manual capture). Later visits are charged off-session to the saved
  card when the provider records them as delivered. A declined authorisation withdraws the
  booking and says why, in words a person can act on.
* Delivery captures the visit's money (in part, if fewer units were delivered); a
  declined booking or a cancellation in time cancels the authorisation; a late cancellation
  is charged. An authorisation that lapsed, or a capture Stripe refuses, is released and the
  visit charged to the saved card instead. A charge that fails marks the visit UNPAID: the
  person is told how to pay (``pay_unpaid_visit``), and ``unpaid_visits`` never loses what
  is owed (``flask ledger check`` reports a delivered card visit that is neither paid, nor
  unpaid, nor being paid).
* Refunds: a provider or commissioner gives money back for a visit, whole or part, with a
  reason (``refund_visit``). A refund stays PENDING until Stripe says it succeeded (its
  answer, a ``charge.refund.updated``/``refund.updated``/``refund.failed`` webhook, or
  ``flask payments retry`` asking).
* Paid twice: a payment we had recorded as failed can still succeed later. If the visit was
  paid meanwhile, the provider is credited once and the duplicate is refunded to the card
  automatically (an ``automatic`` CardRefund, in the audit trail, both sides told).

Money in the ledger
-------------------
Every card movement is mirrored in the ledger, so reports see card spend as they see
budget spend. Each saved card has a SELF_FUNDED account (money from the card holder; it
goes negative by what the card paid). An authorisation is a ledger hold from that account
into the booking's hold account, so "committed" means the same for cards and budgets. A
capture moves the held money into the CARD_CLEARING account (a CARD_PAYMENT: card money
taken by the card processor), releases the rest to the card, and passes it on to what is
owed to the provider (a CAPTURE, as for budgets). A refund takes the money back from the
provider into the clearing account when it is asked for (so it cannot be paid out twice),
and out to the card when Stripe confirms it (a CARD_REFUND); if Stripe refuses, it goes
back to the provider (a correction linked to the one that took it). So the clearing account
holds exactly the refunds in flight (and any automatic refund of a double payment Stripe
would not make: that money never reached the provider and is owed to the card holder).
We post at request rather than at success so that the provider cannot be paid out money
that is being refunded; the card is credited only once the refund really reached it.

Never charged twice
-------------------
Every request that moves money is a ``PaymentAttempt`` row with a key derived from our
own operation ("card-payment:7:capture"), committed before the request is made; the
Stripe idempotency key is derived from it. A retry (double click, timeout, crash and
re-run) finds the same row: if it finished, its recorded answer is used and Stripe is not
asked again; if its outcome was never recorded, we first *look at Stripe* for what that
earlier request did (the PaymentIntent's state, or the refund carrying our key in its
metadata) and ask again only if it did nothing. A PaymentIntent's id is committed on its own
the moment Stripe names it, so a retry reads that intent even when it has no charge yet
(waiting for the card holder's bank, or processing); a payment Stripe is still processing
keeps its attempt open until the bank answers. Only a crash between Stripe's answer and that
commit leaves the retry to Stripe's own idempotency key (same key, same intent, for 24 hours). A lease on the row stops two processes
working on it at once; every request to Stripe times out well inside it (``CALL_BUDGET``),
and the lease is renewed before a request if less than that is left, so no request outlives
its lease. Stripe itself also de-duplicates on the idempotency key; we do not rely on it
(localstripe ignores it).

Stripe's answers: a network error, a 5xx or a rate limit is an unknown outcome
(ProcessorUnavailable: retried later); anything else is a definite no (ProcessorRefused,
or CardDeclined for the person), recorded as such, never an error page.

Webhooks (``handle_webhook``) record each event id once and only ever move a payment
forward (started → requires action → failed → authorised → captured/cancelled), so a
replayed or late event changes nothing. ``charge.captured`` (a capture made in the Stripe
dashboard) counts as its intent's ``payment_intent.succeeded``. In case a webhook never
comes, ``flask payments retry`` reads again, for a week, the payments we gave up that Stripe
may still move: a reservation it would not release, an off-session charge that waited for
the card holder's bank.

One lock order, one visit state machine
---------------------------------------
Whatever records what Stripe did (an attempt's answer, a webhook, a refresh) and every
round of card work locks the booking, then its visits, then the payment
(``locks.lock_payment``): the order every step in ``bookings`` keeps. A visit's status
changes only through the visit state machine there (``bookings.try_move_visit``: a
conditional update), so a webhook or ``flask payments retry`` never overwrites what a person
changed at the same moment; the card side does what the money needs instead. An
authorisation that arrives for a visit cancelled or declined meanwhile is recorded and its
cancellation at Stripe recorded with it (made by the next round of card work); money taken
for a visit no longer owed is refunded automatically (as when paid twice); a failed charge
marks a visit unpaid only if it is still delivered (or cancelled late) and still owed.

The modules
-----------
Lowest first; each imports only modules above it in this list.

* ``errors``: what card payments raise (not configured, declined, in progress, Stripe
  unavailable or refusing, a webhook rejected).
* ``settings``: whether Stripe is configured, its keys, the Stripe.js address, and the
  timeouts and lease timing (checked at start-up).
* ``public_ids``: the random public ids of our card records.
* ``declines``: the words for a card the bank refused.
* ``leases``: one process at a time per attempt; renewing a lease before a request.
* ``stripe_api``: the Stripe client, making a request and turning Stripe's errors into
  ours, reading fields of Stripe objects, checking a webhook's signature.
* ``outcomes``: what one attempt's request came to (``Outcome``).
* ``notices``: telling people about card changes once they have committed.
* ``locks``: the lock order (booking, visits, payment).
* ``amounts``: what a visit owes and what its payments paid or may give back.
* ``card_ledger``: each card's ledger account, the clearing account, releasing a hold.
* ``new_attempts``: recording card work before any request (payments and attempts).
* ``failures``: a failed payment, its message, and the visit it leaves unpaid.
* ``duplicates``: automatic refunds of money a card paid that is not owed.
* ``intents``: bringing a payment forward to what Stripe shows of its PaymentIntent.
* ``refund_results``: recording what became of a refund (succeeded, failed, sent back).
* ``recording``: recording an attempt's outcome, under the locks.
* ``attempts``: running one attempt exactly once (claim, look for an earlier try, ask,
  record).
* ``cards``: saving cards and the payer's Stripe customer; a payer's saved cards.
* ``work``: planning and carrying out the card work a booking's visits call for.
* ``booking_payment``: the ``bookings.PaymentStrategy`` for card bookings.
* ``owed``: visits a failed charge left owing, and paying one now.
* ``lookups``: a booking's card payments, refunds and card.
* ``bank_checks``: payments waiting for the card holder's bank, and reading one again.
* ``rechecks``: payments given up in the last week that Stripe may still move, read again.
* ``refunds``: refunds a provider or commissioner asks for.
* ``webhooks``: Stripe's events.
* ``retry``: finishing what was left unfinished (``flask payments retry``).
* ``reports``: card statements, card spend, council prepaid card spend.
* ``clearing``: what sits in card clearing and why.
* ``clearing_actions``: a commissioner retrying a refused automatic refund, or settling it
  another way (repaid outside Stripe, or owed after all).
* ``checks``: the card side of ``flask ledger check`` (and its warning about money left in
  card clearing).
"""

from __future__ import annotations

from app.services.card_payments.amounts import amount_owed, refundable_pence
from app.services.card_payments.attempts import run_attempt
from app.services.card_payments.bank_checks import awaiting_bank, payment_for_card_holder, refresh_payment
from app.services.card_payments.booking_payment import CARD_PAYMENT, CardBookingPayment
from app.services.card_payments.card_ledger import card_account, clearing_account
from app.services.card_payments.card_removal import booking_needing, remove_card
from app.services.card_payments.cards import finish_card_setup, get_card, saved_cards, start_card_setup
from app.services.card_payments.checks import check_cards, clearing_warnings
from app.services.card_payments.clearing import LIST_AFTER as CLEARING_LIST_AFTER
from app.services.card_payments.clearing import WARN_AFTER as CLEARING_WARN_AFTER
from app.services.card_payments.clearing import ClearingItem, ClearingSummary, in_card_clearing
from app.services.card_payments.clearing_actions import SETTLEMENT_LABELS, retry_refund, settle_refund
from app.services.card_payments.errors import (
    CardDeclined,
    CardPaymentsNotConfigured,
    PaymentInProgress,
    ProcessorRefused,
    ProcessorUnavailable,
    WebhookRejected,
)
from app.services.card_payments.lookups import booking_card, payments_for_booking, refunds_for_booking
from app.services.card_payments.owed import may_pay, pay_unpaid_visit, unpaid_visits
from app.services.card_payments.refunds import refund_visit
from app.services.card_payments.reports import (
    CardStatementLine,
    PrepaidSpend,
    SpendRow,
    card_spend,
    card_statement,
    pending_refunds_for,
    prepaid_card_holders_spend,
)
from app.services.card_payments.retry import retry_unfinished
from app.services.card_payments.settings import (
    AUTHORISE_WITHIN,
    CALL_BUDGET,
    LEASE,
    STRIPE_CONNECT_TIMEOUT,
    STRIPE_NETWORK_RETRIES,
    STRIPE_READ_TIMEOUT,
    check_timing,
    is_configured,
    publishable_key,
    stripe_js_url,
)
from app.services.card_payments.stripe_api import PAGE_SIZE
from app.services.card_payments.webhooks import handle_webhook
from app.services.card_payments.work import settle_booking

__all__ = [
    "AUTHORISE_WITHIN",
    "CALL_BUDGET",
    "CARD_PAYMENT",
    "CLEARING_LIST_AFTER",
    "CLEARING_WARN_AFTER",
    "LEASE",
    "PAGE_SIZE",
    "SETTLEMENT_LABELS",
    "STRIPE_CONNECT_TIMEOUT",
    "STRIPE_NETWORK_RETRIES",
    "STRIPE_READ_TIMEOUT",
    "CardBookingPayment",
    "CardDeclined",
    "CardPaymentsNotConfigured",
    "CardStatementLine",
    "ClearingItem",
    "ClearingSummary",
    "PaymentInProgress",
    "PrepaidSpend",
    "ProcessorRefused",
    "ProcessorUnavailable",
    "SpendRow",
    "WebhookRejected",
    "amount_owed",
    "awaiting_bank",
    "booking_card",
    "booking_needing",
    "card_account",
    "card_spend",
    "card_statement",
    "check_cards",
    "check_timing",
    "clearing_account",
    "clearing_warnings",
    "finish_card_setup",
    "get_card",
    "handle_webhook",
    "in_card_clearing",
    "is_configured",
    "may_pay",
    "pay_unpaid_visit",
    "payment_for_card_holder",
    "payments_for_booking",
    "pending_refunds_for",
    "prepaid_card_holders_spend",
    "publishable_key",
    "refresh_payment",
    "refund_visit",
    "refundable_pence",
    "refunds_for_booking",
    "remove_card",
    "retry_refund",
    "retry_unfinished",
    "run_attempt",
    "saved_cards",
    "settle_booking",
    "settle_refund",
    "start_card_setup",
    "stripe_js_url",
    "unpaid_visits",
]

from app.services.facade import seal

seal(__name__)
