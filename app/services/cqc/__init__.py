"""CQC's ratings from CQC's own data: ``flask cqc import FILE`` reads one of the files CQC
publishes every month and brings our providers' ratings up to date.

files          which of CQC's files it is, from its header (a wrong file is refused first)
values         CQC's words for ratings and its ways of writing dates
reading        the file, a line at a time, into what it says of each location
applying       one location's ratings onto its provider, with the history and the audit
deregistering  locations CQC has deregistered, flagged for commissioners
running        one import: once per file (by its SHA-256), in small units of work
summary        what an import did, as figures and as the lines the command prints
history        when ratings were last imported; a provider's rating history
"""

from app.services.cqc.deregistering import deregistration_of, flagged_providers
from app.services.cqc.files import WrongFile
from app.services.cqc.history import last_import, rating_history, recent_imports
from app.services.cqc.running import import_file
from app.services.cqc.summary import ImportSummary
from app.services.facade import seal

__all__ = [
    "ImportSummary",
    "WrongFile",
    "deregistration_of",
    "flagged_providers",
    "import_file",
    "last_import",
    "rating_history",
    "recent_imports",
]

seal(__name__)
