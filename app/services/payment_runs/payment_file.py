"""A run's payment file, from its paid lines: Bacs Standard 18, or CSV for finance systems
that import that instead. The totals are the run's, which are the ledger's movement."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import LineStatus, PaymentRun, PaymentRunLine, RunStatus
from app.services import council
from app.services.errors import Conflict
from app.services.payment_runs.bacs import Originator, Payment, payments_csv, standard18


def originator() -> Originator:
    settings = council.current()
    return Originator(
        sort_code=settings.bank_sort_code,
        account_number=settings.bank_account_number,
        name=settings.name,
        service_user_number=settings.bacs_user_number,
    )


def payments(run: PaymentRun) -> list[Payment]:
    if run.status is not RunStatus.APPROVED:
        raise Conflict("The payment file is ready once the run is approved")
    lines = db.session.execute(
        select(PaymentRunLine)
        .where(PaymentRunLine.run_id == run.id, PaymentRunLine.status == LineStatus.PAID)
        .order_by(PaymentRunLine.id)
        .options(selectinload(PaymentRunLine.bank_account))
    ).scalars()
    return [
        Payment(
            sort_code=line.bank_account.sort_code,
            account_number=line.bank_account.account_number,
            amount_pence=line.net_pence,
            reference=line.reference,
            payee_name=line.bank_account.account_name,
        )
        for line in lines
    ]


def bacs_file(run: PaymentRun) -> str:
    return standard18(
        originator(),
        payments(run),
        processing_date=run.processing_date,
        created_on=run.approved_at.date(),
        file_serial=run.id % 1_000_000 or 1,
    )


def csv_file(run: PaymentRun) -> str:
    return payments_csv(originator(), payments(run), processing_date=run.processing_date)
