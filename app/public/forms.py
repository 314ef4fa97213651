"""Forms of the public pages. The search form is a GET form: it changes nothing, so it has
no CSRF token (a link to a search must work for anyone).

The search form only shows the search: its values are checked by the same one-pass
parser as the JSON API's (services/search/params.py through ``search.params_from_args``),
whose errors ``add_errors`` puts on the fields."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovRadioInput,
    GovSelect,
    GovTextInput,
)
from wtforms import BooleanField, RadioField, SelectField, SelectMultipleField, StringField

from app.formatting import format_pence
from app.models import CQCRating, FundingRoute, PeopleGroup
from app.services.search import SearchParams, Sort
from app.services.search import params as sp

RATING_CHOICES = [
    ("", "Any, including not rated"),
    (CQCRating.OUTSTANDING.value, "Outstanding"),
    (CQCRating.GOOD.value, "Good or better"),
    (CQCRating.REQUIRES_IMPROVEMENT.value, "Requires improvement or better"),
    (CQCRating.INADEQUATE.value, "Any CQC rating"),
]
REVIEW_CHOICES = [
    ("", "Any, including no reviews yet"),
    ("4", "4 stars or more"),
    ("3", "3 stars or more"),
    ("2", "2 stars or more"),
    ("1", "Has reviews"),
]
FUNDING_CHOICES = [("", "Any way of paying")] + [(r.value, r.label) for r in FundingRoute]
SUPPORTS_CHOICES = [("", "Anyone")] + [(g.value, g.label) for g in PeopleGroup]
DAY_CHOICES = [(value, value.capitalize()) for value in sp.DAY_VALUES]
SORT_CHOICES = [(s.value, s.label) for s in Sort]


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(
        "What are you looking for?",
        description="For example, home care, day centre, meals or a personal assistant",
        widget=GovTextInput(),
    )
    postcode = StringField(
        "Postcode",
        description="To find services near you, for example PE1 1XX",
        widget=GovTextInput(),
    )
    radius_miles = SelectField(
        "Distance",
        choices=[(str(m), f"Within {m} mile" + ("" if m == 1 else "s")) for m in sp.RADIUS_CHOICES],
        default=str(sp.DEFAULT_RADIUS_MILES),
        validate_choice=False,
        widget=GovSelect(),
    )
    category = RadioField(
        "Type of support", choices=[("", "Any type of support")], default="", validate_choice=False, widget=GovRadioInput()
    )
    supports = RadioField(
        "Who it supports",
        description="Services whose provider says they are set up to support these people",
        choices=SUPPORTS_CHOICES,
        default="",
        validate_choice=False,
        widget=GovRadioInput(),
    )
    max_price = StringField(
        "Maximum price",
        description="In pounds, for each hour, visit, day, night, week or item as the provider charges",
        widget=GovTextInput(),
    )
    min_cqc_rating = RadioField(
        "CQC rating",
        description="Services CQC does not inspect, such as meals or transport, "
        "and providers not yet rated, are only shown under ‘Any, including not rated’",
        choices=RATING_CHOICES,
        default="",
        validate_choice=False,
        widget=GovRadioInput(),
    )
    min_review_rating = RadioField(
        "Reviews by people who used it",
        description="The average of its verified reviews, out of 5 stars",
        choices=REVIEW_CHOICES,
        default="",
        validate_choice=False,
        widget=GovRadioInput(),
    )
    funding = RadioField("How you will pay", choices=FUNDING_CHOICES, default="", validate_choice=False, widget=GovRadioInput())
    day = SelectMultipleField(
        "Days you need",
        description="Select all that apply. Services shown run on every day you select",
        choices=DAY_CHOICES,
        validate_choice=False,
        widget=GovCheckboxesInput(),
    )
    framework_only = BooleanField("Only council framework providers", widget=GovCheckboxInput())
    sort = SelectField("Sort by", choices=SORT_CHOICES, default=Sort.BEST_MATCH.value, validate_choice=False, widget=GovSelect())

    def set_categories(self, categories: list[tuple[str, str]]) -> None:
        self.category.choices = [("", "Any type of support"), *list(categories)]

    def add_errors(self, errors: dict[str, str]) -> None:
        """The errors of the search's one-pass check (search.params and search), each on
        its field; an error about the page number (no field) goes to the summary only."""
        for name, message in errors.items():
            field = self._fields.get("max_price" if name == "max_price_pence" else name)
            if field is not None:
                field.errors = [*list(field.errors or []), message]
            else:
                self.form_errors.append(message)
        self._errors = None  # WTForms caches form.errors

    def show(self, params: SearchParams | None) -> None:
        """Show the search as understood: a price given as max_price_pence goes in the box
        in pounds, and words keep no character that cannot be searched for."""
        if self.q.data:
            self.q.data = self.q.data.replace("\x00", "")
        if params is not None and params.max_price_pence is not None and not (self.max_price.data or "").strip():
            # In the box's own terms, beside its £ prefix: 1500 -> '15', 2250 -> '22.50'.
            self.max_price.data = format_pence(params.max_price_pence).removeprefix("£")
