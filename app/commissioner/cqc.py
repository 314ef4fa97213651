"""CQC's data as the import left it (/commissioner/providers/cqc): when ratings were last
imported, the recent imports with what each did, and the providers whose CQC location
CQC has deregistered, for a commissioner to decide what to do. Read only: the import is
``flask cqc import FILE``."""

from __future__ import annotations

from flask import render_template

from app.commissioner import bp
from app.services import cqc


@bp.get("/providers/cqc")
def cqc_data():
    return render_template(
        "commissioner/cqc.html",
        last=cqc.last_import(),
        imports=cqc.recent_imports(),
        deregistered=cqc.flagged_providers(),
    )
