"""Proportionate audit of personal budgets (Lincolnshire's measure: an annual balance check of
everyone, a 10% annual audit and checks where there is risk, instead of quarterly audits of
everyone).

balance_checks  every budget's yearly balance check from the ledger
budget_figures  many budgets' figures at once (what budgets.summary says of each)
flags           the risk flags, each with its reason
sampling        the year's sample: a reproducible random share plus every flagged budget
working         opening an audit, questions to the person and their answers, findings and time
closing         the outcome, and recovering unspent money to the council
report          how a year's audit went and why each audit is there, beside quarterly checks
requests        finance checks anyone involved can ask for (a reason of their own, not a risk flag)
"""

from app.services.audits.balance_checks import budgets_in, check_year, checks_of
from app.services.audits.closing import close, recovery_given_back, undo_recovery
from app.services.audits.flags import CARD_FAILURES, LATE_CANCELLATIONS, flags_for
from app.services.audits.report import ASSUMED_MINUTES, AuditReport, year_report
from app.services.audits.requests import REQUESTED, ask_for_check, open_audit_of, who_asks
from app.services.audits.sampling import audits_of, choose, draw, sample_for, share_percent
from app.services.audits.working import MAX_FINDINGS, MAX_TEXT, answer, ask, get_audit, open_audit, open_questions, record
from app.services.facade import seal

__all__ = [
    "ASSUMED_MINUTES",
    "CARD_FAILURES",
    "LATE_CANCELLATIONS",
    "MAX_FINDINGS",
    "MAX_TEXT",
    "REQUESTED",
    "AuditReport",
    "answer",
    "ask",
    "ask_for_check",
    "audits_of",
    "budgets_in",
    "check_year",
    "checks_of",
    "choose",
    "close",
    "draw",
    "flags_for",
    "get_audit",
    "open_audit",
    "open_audit_of",
    "open_questions",
    "record",
    "recovery_given_back",
    "sample_for",
    "share_percent",
    "undo_recovery",
    "who_asks",
    "year_report",
]

seal(__name__)
