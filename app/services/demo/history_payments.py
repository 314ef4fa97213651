"""Paying providers in the demo: bank details, and a year of payment runs with remittances.

``load_bank_details``: the council's own bank account and Bacs service user number (the
payment file pays from them, and a run cannot be approved without them); a confirmed bank
account for every provider that has been on the market, submitted by its owner and
confirmed by commissioner@demo.test after a phone call; and one provider's change of bank
details waiting for the council to confirm it. The council's are added while it has none;
the providers' once (while no provider has any).

``load_payment_runs``: a run for every complete payment period since the first paid visit,
made through the real payment run services "as of" the day: prepared by
commissioner@demo.test on the first working day after the period ended and approved by
admin@demo.test the working day after, so every provider paid has its remittances. The
latest complete period's run is prepared by admin@demo.test and left for someone else to
approve (who prepares a run cannot approve it): commissioner@demo.test can. Loaded once: if
any run exists, nothing happens.

Every bank detail here is made up, and obviously so: sort codes like 12-34-56, account
numbers that are a provider's id with a leading digit. None is anyone's real account.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.database import utcnow
from app.extensions import db
from app.models import (
    BankAccountStatus,
    BookingVisit,
    CouncilSettings,
    OrgRole,
    PaymentRun,
    Provider,
    ProviderBankAccount,
    ProviderStaff,
    ProviderStatus,
    SpendFact,
    User,
)
from app.services import payment_runs
from app.services.demo.history_clock import Stamps, at
from app.services.demo.history_supply import owner_of
from app.services.demo.report import LoadReport
from app.services.errors import DomainError
from app.uk_time import local_date, local_midnight, uk_today

# Made up: not the council's or anyone's real account.
COUNCIL_SORT_CODE = "123456"  # 12-34-56
COUNCIL_ACCOUNT_NUMBER = "12345678"
BACS_USER_NUMBER = "654321"
# Providers' accounts: a made-up sort code, and an account number that is 9 then the
# provider's id (a change waiting to be confirmed: another made-up sort code, 8 then the id).
PROVIDER_SORT_CODE = "112233"  # 11-22-33
CHANGED_SORT_CODE = "445566"  # 44-55-66
CONFIRMED_NOTE = "Phoned the owner on the number on our file and read the sort code and account number back"
PAYABLE = (ProviderStatus.VERIFIED, ProviderStatus.SUSPENDED)  # providers that have been on the market


def _user(email: str) -> User | None:
    return db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def load_bank_details(report: LoadReport) -> None:
    """Bank details: the council's, and a confirmed account for every provider"""
    settings = db.session.get(CouncilSettings, 1)
    if settings is not None and not (settings.bank_sort_code or settings.bank_account_number or settings.bacs_user_number):
        settings.bank_sort_code, settings.bank_account_number = COUNCIL_SORT_CODE, COUNCIL_ACCOUNT_NUMBER
        settings.bacs_user_number = BACS_USER_NUMBER
        report.add("council bank details")
    commissioner = _user("commissioner@demo.test")
    if commissioner is None or db.session.execute(select(ProviderBankAccount.id)).first() is not None:
        return  # providers' bank details are loaded once: a provider that joins later adds its own
    first_owner = (
        select(func.min(ProviderStaff.user_id))
        .where(ProviderStaff.provider_id == Provider.id, ProviderStaff.org_role == OrgRole.OWNER)
        .scalar_subquery()
    )
    providers = db.session.execute(select(Provider, first_owner).where(Provider.status.in_(PAYABLE)).order_by(Provider.slug)).all()
    real_now = utcnow()
    for provider, owner_id in providers:
        if owner_id is None:
            continue
        submitted = min(provider.created_at + dt.timedelta(days=7), real_now - dt.timedelta(days=3))
        db.session.add(
            ProviderBankAccount(
                provider_id=provider.id,
                sort_code=PROVIDER_SORT_CODE,
                account_number=f"9{provider.id:07d}",
                account_name=provider.name[:120],
                status=BankAccountStatus.CONFIRMED,
                submitted_by_id=owner_id,
                submitted_at=submitted,
                decided_by_id=commissioner.id,
                decided_at=submitted + dt.timedelta(days=2, hours=3),
                decision_note=CONFIRMED_NOTE,
            )
        )
        report.add("provider bank accounts")
    db.session.flush()
    _a_change_to_confirm(report, real_now)


def _a_change_to_confirm(report: LoadReport, real_now: dt.datetime) -> None:
    """A provider (not provider@demo.test's) asked two days ago to be paid into a new
    account: the commissioner's bank details queue has it to check and confirm."""
    demo_owner = _user("provider@demo.test")
    theirs = select(ProviderStaff.provider_id).where(ProviderStaff.user_id == (demo_owner.id if demo_owner else 0))
    confirmed = db.session.execute(
        select(ProviderBankAccount)
        .join(Provider, Provider.id == ProviderBankAccount.provider_id)
        .where(
            ProviderBankAccount.status == BankAccountStatus.CONFIRMED,
            Provider.status == ProviderStatus.VERIFIED,
            Provider.id.notin_(theirs),
        )
        .order_by(Provider.slug)
    ).scalars()
    account = next(iter(confirmed), None)
    owner = owner_of(account.provider) if account is not None else None
    if owner is None:
        return
    db.session.add(
        ProviderBankAccount(
            provider_id=account.provider_id,
            sort_code=CHANGED_SORT_CODE,
            account_number=f"8{account.provider_id:07d}",
            account_name=account.account_name,
            status=BankAccountStatus.PENDING,
            submitted_by_id=owner.id,
            submitted_at=at(uk_today(real_now) - dt.timedelta(days=2), 16, 5),
        )
    )
    report.add("bank details changes waiting to be confirmed")


def load_payment_runs(report: LoadReport) -> None:
    """Payment runs: past runs approved with remittances, and one ready to approve"""
    if db.session.execute(select(PaymentRun.id)).first() is not None:
        return
    preparer, approver = _user("commissioner@demo.test"), _user("admin@demo.test")
    if preparer is None or approver is None:
        return
    real_now = utcnow()
    periods = _periods(uk_today(real_now))
    if not periods:
        return
    stamps = Stamps()
    for _, ends_on in periods[:-1]:
        prepared = min(at(payment_runs.next_working_day(ends_on), 9, 30), real_now)
        run = payment_runs.prepare(ends_on - dt.timedelta(days=1), by=preparer, now=prepared)
        stamps.mark(prepared)
        approved = min(at(payment_runs.next_working_day(local_date(prepared)), 14, 15), real_now)
        try:
            payment_runs.approve(run.id, by=approver, now=approved)
        except DomainError:
            db.session.rollback()  # the council's bank details were taken out: left to approve
            report.add("payment runs ready to approve")
            continue
        stamps.mark(approved)
        report.add("payment runs approved")
    _, ends_on = periods[-1]
    prepared = max(min(at(payment_runs.next_working_day(ends_on), 9, 30), real_now), local_midnight(ends_on).astimezone(dt.UTC))
    payment_runs.prepare(ends_on - dt.timedelta(days=1), by=approver, now=prepared)
    stamps.mark(prepared)
    report.add("payment runs ready to approve")
    stamps.apply()


# Each service call above is its own unit of work, so the loader must not wrap this step.
load_payment_runs.manages_transactions = True


def _periods(today: dt.date) -> list[tuple[dt.date, dt.date]]:
    """(first day, day after) of every complete payment period from the one with the first
    paid visit to the latest, oldest first."""
    first_visit = db.session.execute(
        select(func.min(BookingVisit.starts_at)).join(SpendFact, SpendFact.visit_id == BookingVisit.id)
    ).scalar_one_or_none()
    if first_visit is None:
        return []
    first_day = local_date(first_visit)
    starts_on, ends_on = payment_runs.latest_complete_period(today)
    length = ends_on - starts_on
    periods = []
    while ends_on > first_day:
        periods.append((starts_on, ends_on))
        starts_on, ends_on = starts_on - length, ends_on - length
    return periods[::-1]
