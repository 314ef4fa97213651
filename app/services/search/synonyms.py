"""Words people use for the same kind of care, so a search finds listings whatever words
the provider chose. Each group is one idea; any phrase in a group finds every listing that
uses any phrase of the group.

Changing this list changes what the index holds: the index name carries a fingerprint of
it, so after an edit `/health` reports the index as missing until `flask search rebuild`.

Words that differ only by ending ("carer", "carers", "caring") need no entry here: the
analyser (analysis.py) reduces them to one stem.
"""

from __future__ import annotations

import hashlib

SYNONYM_GROUPS: dict[str, tuple[str, ...]] = {
    "personal-assistant": ("PA", "PAs", "personal assistant", "personal assistants"),
    "respite": ("respite", "respite care", "short break", "short breaks", "carers break"),
    "sitting": ("sitting service", "sitter", "sitters", "sitting"),
    "home-care": ("home care", "homecare", "domiciliary", "domiciliary care", "care at home", "carer at home"),
    "live-in": ("live-in care", "live in care", "live-in carer", "24 hour care", "24-hour care", "round the clock care"),
    "day-centre": ("day centre", "day center", "day care", "day club", "day service", "day services", "day opportunities"),
    "meals": ("meals on wheels", "meal delivery", "meals delivered", "hot meals", "frozen meals"),
    "dial-a-ride": ("dial a ride", "dial-a-ride", "community transport", "minibus"),
    "telecare": ("telecare", "careline", "lifeline", "pendant alarm", "personal alarm", "community alarm"),
    "reablement": ("reablement", "re-ablement", "enablement", "rehabilitation", "intermediate care"),
    "befriending": ("befriending", "befriender", "companionship", "companion", "loneliness"),
    "dementia": ("dementia", "alzheimers", "alzheimer", "memory loss", "memory problems"),
    "cleaning": ("cleaning", "cleaner", "domestic help", "housework", "home help"),
    "advocacy": ("advocacy", "advocate"),
    "supported-living": ("supported living", "supported housing"),
    "learning-disability": ("learning disability", "learning disabilities", "learning difficulties"),
    "adaptations": ("adaptations", "grab rails", "grab rail", "handrails", "handrail"),
    "mobility": ("mobility aids", "wheelchair", "wheelchairs", "walking frame", "walking frames"),
    "direct-payments": ("direct payment", "direct payments", "prepaid card", "payment card"),
}


def fingerprint() -> str:
    """Eight hex digits that change whenever the synonym list changes."""
    text = "\n".join(f"{key}={'|'.join(words)}" for key, words in sorted(SYNONYM_GROUPS.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:8]
