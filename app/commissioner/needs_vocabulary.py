"""The needs vocabulary (/commissioner/market/needs-vocabulary): the words people searched
for that found nothing, what a search for them finds now, and the council's own words for
needs, added from there and taken out again. In effect at the next search; audited."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.commissioner import bp
from app.forms import ConfirmForm, FlaskForm, apply_errors, select_field, submit, text_field
from app.models.needs import MAX_PHRASE
from app.services import search
from app.services.errors import Conflict, ValidationError
from app.services.reports import demand, filters


class NeedWordForm(FlaskForm):
    phrase = text_field(
        "Word or phrase people search for",
        required="Enter the word or phrase people search for",
        max_length=MAX_PHRASE,
        description="For example, stairlift",
    )
    meaning = select_field("What it means", required="Choose what the word means from the list", validate_choice=False)
    submit = submit("Add the word")


def _form() -> NeedWordForm:
    form = NeedWordForm()
    form.meaning.choices = [("", "Choose what it means")] + [
        (m.value, ("A type of support: " if m.value.startswith("category:") else "A need: ") + m.label) for m in search.meanings()
    ]
    return form


@bp.route("/market/needs-vocabulary", methods=["GET", "POST"])
def needs_vocabulary():
    form = _form()
    if request.method == "GET" and request.args.get("phrase"):
        form.phrase.data = request.args["phrase"][:MAX_PHRASE]
    if form.validate_on_submit():
        try:
            word = search.add_word(current_user, phrase=form.phrase.data, meaning=form.meaning.data)
        except ValidationError as error:
            apply_errors(form, error)
        except Conflict as error:
            flash(str(error), "error")
        else:
            flash(f"‘{word.phrase}’ now leads to {search.label_of(word.meaning)}, from the next search.", "success")
            return redirect(url_for("commissioner.needs_vocabulary"))
    unmet = demand.words_found_nothing(filters.default_filter())
    words = search.live_words()
    labels = search.meaning_labels()
    return render_template(
        "commissioner/market/needs_vocabulary.html",
        form=form,
        unmet=unmet,
        words=words,
        finds_now=search.totals_now([w.phrase for w in words]),
        labels={w.meaning: labels.get(w.meaning, w.meaning) for w in words},
        confirm=ConfirmForm(),
    )


@bp.post("/market/needs-vocabulary/<id:word_id>/remove")
def remove_need_word(word_id: int):
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            word = search.remove_word(current_user, word_id)
        except Conflict as error:
            flash(str(error), "error")
        else:
            flash(f"‘{word.phrase}’ has been taken out of the needs vocabulary.", "success")
    return redirect(url_for("commissioner.needs_vocabulary"))
