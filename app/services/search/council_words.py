"""The council's own words for needs: commissioners close the loop from the unmet demand
report ("stairlift" found nothing) by saying what a word means: a need of the vocabulary or
a type of support. A word takes effect at the next search (nothing is reindexed: needs are
applied as a search is read); adding and taking out are in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import Category, CouncilNeedWord, User
from app.models.needs import MAX_PHRASE
from app.services import audit
from app.services.errors import Conflict, NotFound, ValidationError
from app.services.search.held import EDITED_SECONDS, held
from app.services.search.needs import CATEGORY_NEED_PREFIX, Vocabulary, from_file, stems


@dataclass(frozen=True)
class Meaning:
    value: str  # a need's key, or "category:<slug>"
    label: str  # "help with washing and bathing", or the type of support's name


def meanings() -> list[Meaning]:
    """What a council word can mean: each need of the vocabulary, then each type of support."""
    needs = [Meaning(need.key, need.label) for need in from_file().needs.values()]
    categories = db.session.execute(select(Category.slug, Category.name).order_by(Category.position, Category.name)).all()
    return needs + [Meaning(CATEGORY_NEED_PREFIX + slug, name) for slug, name in categories]


def live_words() -> list[CouncilNeedWord]:
    return list(
        db.session.execute(select(CouncilNeedWord).where(CouncilNeedWord.removed_at.is_(None)).order_by(CouncilNeedWord.phrase)).scalars()
    )


def vocabulary_now() -> Vocabulary:
    """The needs vocabulary a search uses now: the file's, and the council's words beside it
    (held in memory: see held.py)."""
    tables = frozenset({CouncilNeedWord.__tablename__, Category.__tablename__})
    return held("vocabulary", _vocabulary_from_rows, seconds=EDITED_SECONDS, tables=tables).get()


def _vocabulary_from_rows() -> Vocabulary:
    rows = db.session.execute(
        select(CouncilNeedWord.phrase, CouncilNeedWord.meaning).where(CouncilNeedWord.removed_at.is_(None)).order_by(CouncilNeedWord.id)
    ).all()
    if not rows:
        return from_file()
    names = dict(db.session.execute(select(Category.slug, Category.name)).all())
    return _with_words(tuple((phrase, meaning, names.get(meaning.removeprefix(CATEGORY_NEED_PREFIX), "")) for phrase, meaning in rows))


@lru_cache(maxsize=8)
def _with_words(words: tuple[tuple[str, str, str], ...]) -> Vocabulary:
    return from_file().with_council_words(words)


def meaning_labels() -> dict[str, str]:
    """Each meaning's label, by its value (one query however many words are shown)."""
    return {m.value: m.label for m in meanings()}


def label_of(meaning: str) -> str:
    return meaning_labels().get(meaning, meaning)


def _checked(phrase: str | None, meaning: str | None) -> tuple[str, str, str, str]:
    phrase = " ".join((phrase or "").split())
    errors = {}
    words = stems(phrase) if phrase else ()
    vocabulary = vocabulary_now()
    if not phrase:
        errors["phrase"] = "Enter the word or phrase people search for"
    elif len(phrase) > MAX_PHRASE:
        errors["phrase"] = f"The word or phrase must be {MAX_PHRASE} characters or fewer"
    elif not words:
        errors["phrase"] = "Enter a word that can be searched for: little words like ‘the’ or ‘for’ are left out of searches"
    elif len(words) == 1 and words[0] in vocabulary.neutral:
        errors["phrase"] = f"‘{phrase}’ says who or what someone wants, not what they need, so search leaves it out"
    elif (found := vocabulary.need_of(words)) is not None:
        errors["phrase"] = f"‘{phrase}’ already leads to {found.label}"
    labels = meaning_labels()
    if meaning not in labels:
        errors["meaning"] = "Choose what the word means from the list"
    if errors:
        raise ValidationError(errors)
    return phrase, " ".join(words), meaning, labels[meaning]  # type: ignore[return-value,index]


def add_word(actor: User, *, phrase: str | None, meaning: str | None) -> CouncilNeedWord:
    """Add a council word; in effect at the next search. Audited."""
    phrase, words, meaning, label = _checked(phrase, meaning)
    try:
        with write_transaction():
            word = CouncilNeedWord(phrase=phrase, words=words, meaning=meaning, added_by_id=actor.id, added_at=utcnow())
            db.session.add(word)
            db.session.flush()
            audit.record(actor, "search.need_word_added", "council_need_word", word.id, after={"phrase": phrase, "means": label})
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"‘{phrase}’ was added a moment ago by someone else") from None
    return word


def remove_word(actor: User, word_id: int) -> CouncilNeedWord:
    """Take a council word out; searches stop using it at once. Audited."""
    word = db.session.get(CouncilNeedWord, word_id)
    if word is None:
        raise NotFound("No such word")
    with write_transaction():
        taken = db.session.execute(
            update(CouncilNeedWord)
            .where(CouncilNeedWord.id == word.id, CouncilNeedWord.removed_at.is_(None))
            .values(removed_at=utcnow(), removed_by_id=actor.id)
        ).rowcount
        if taken != 1:
            raise Conflict(f"‘{word.phrase}’ has been taken out already")
        what = {"phrase": word.phrase, "means": label_of(word.meaning)}
        audit.record(actor, "search.need_word_removed", "council_need_word", word.id, before=what)
    db.session.expire(word)
    return word
