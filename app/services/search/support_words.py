"""The words indexed for each group of people a listing says it supports, in its own
"supports" field: the words people type when they look for care for someone ("autistic",
"asperger", "alzheimers", "deaf"), so a listing that declares a group is found by them
even when its own text never says them.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.models import PeopleGroup

SUPPORT_WORDS = {
    PeopleGroup.OLDER_PEOPLE: "older people elderly aged over 65 later life",
    PeopleGroup.YOUNGER_ADULTS: "younger adults young adult working age under 65",
    PeopleGroup.CHILDREN: "children child young people teenagers under 18",
    PeopleGroup.DEMENTIA: "dementia alzheimers alzheimer's memory loss",
    PeopleGroup.LEARNING_DISABILITIES: "learning disability disabilities difficulties",
    PeopleGroup.AUTISM: "autism autistic asd asperger aspergers",
    PeopleGroup.MENTAL_HEALTH: "mental health illness depression anxiety psychosis",
    PeopleGroup.PHYSICAL_DISABILITIES: "physical disability disabilities disabled wheelchair user",
    PeopleGroup.SENSORY_IMPAIRMENTS: "sensory impairment sight loss visual impairment blind deaf hearing loss deafblind",
    PeopleGroup.SUBSTANCE_MISUSE: "drugs alcohol substance misuse addiction recovery",
    PeopleGroup.EATING_DISORDERS: "eating disorder disorders anorexia bulimia",
    PeopleGroup.END_OF_LIFE: "end of life palliative terminal illness dying hospice",
}


def support_text(groups: Iterable[PeopleGroup]) -> str:
    """The text of a listing's "supports" field: its groups' words, one group a line."""
    return "\n".join(SUPPORT_WORDS[group] for group in groups)
