"""What was delivered: providers record each visit (actual times or missed), the council's
rules decide what it is paid, a commissioner decides visits outside the tolerance, and the
person confirms or disputes a delivered visit.

  rules        the council's paying rules as pure arithmetic (tolerance, increment, basis)
  recording    one visit recorded: checked, written once, paid or queued or released
  exceptions   the commissioner's decision on a visit outside the tolerance
  disputes     the person's confirmation or dispute, and the commissioner's settlement
  unrecorded   visits nobody recorded 48 hours after they were due
  reminders    providers told of those visits, once per visit
  ecm          electronic call monitoring files: every row checked, recorded whole or not at all
  visit_lists  a provider's own visits, day by day, for its visits page
"""

from app.services.delivery.disputes import confirm, confirm_until, dispute, may_answer, open_disputes, settle
from app.services.delivery.ecm import (
    COLUMNS,
    MAX_BYTES,
    MAX_ROWS,
    EcmFileRefused,
    check_file,
    import_ecm,
    parse_ecm,
    read_moment,
    uk_moment,
    waiting_for_council,
)
from app.services.delivery.exceptions import DECISIONS, decide, open_exceptions, recorded_pence
from app.services.delivery.recording import (
    MAX_CARER_REF,
    MAX_REASON,
    Actuals,
    check_actuals,
    get_record,
    plan_of,
    record,
    record_in_transaction,
)
from app.services.delivery.reminders import remind_unrecorded
from app.services.delivery.rules import Assessment, Plan, assess, pence_for_minutes, round_minutes
from app.services.delivery.unrecorded import UNRECORDED_AFTER, unrecorded_visits
from app.services.delivery.visit_lists import provider_visit, provider_visits
from app.services.facade import seal

__all__ = [
    "COLUMNS",
    "DECISIONS",
    "MAX_BYTES",
    "MAX_CARER_REF",
    "MAX_REASON",
    "MAX_ROWS",
    "UNRECORDED_AFTER",
    "Actuals",
    "Assessment",
    "EcmFileRefused",
    "Plan",
    "assess",
    "check_actuals",
    "check_file",
    "confirm",
    "confirm_until",
    "decide",
    "dispute",
    "get_record",
    "import_ecm",
    "may_answer",
    "open_disputes",
    "open_exceptions",
    "parse_ecm",
    "pence_for_minutes",
    "plan_of",
    "provider_visit",
    "provider_visits",
    "read_moment",
    "record",
    "record_in_transaction",
    "recorded_pence",
    "remind_unrecorded",
    "round_minutes",
    "settle",
    "uk_moment",
    "unrecorded_visits",
    "waiting_for_council",
]

seal(__name__)
