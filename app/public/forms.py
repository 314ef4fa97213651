"""Forms of the public pages. The search form is a GET form: it changes nothing, so it has
no CSRF token (a link to a search must work for anyone)."""

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
from wtforms.validators import ValidationError as FieldError

from app.models import CQCRating, FundingRoute
from app.services import search_params as sp
from app.services.search_params import SearchParams, Sort


class ParsedBy:
    """Validate a field with the shared parser of search_params, keeping the parsed value
    on ``field.parsed`` (the same rules and messages as the JSON API)."""

    def __init__(self, parser):
        self.parser = parser

    def __call__(self, form, field):
        raw = field.data if not isinstance(field.data, bool) else ("true" if field.data else "false")
        try:
            field.parsed = self.parser(raw if not isinstance(raw, list) else raw)
        except ValueError as exc:
            field.parsed = None
            raise FieldError(str(exc)) from None


RATING_CHOICES = [
    ("", "Any, including not rated"),
    (CQCRating.OUTSTANDING.value, "Outstanding"),
    (CQCRating.GOOD.value, "Good or better"),
    (CQCRating.REQUIRES_IMPROVEMENT.value, "Requires improvement or better"),
    (CQCRating.INADEQUATE.value, "Any CQC rating"),
]
FUNDING_CHOICES = [("", "Any way of paying")] + [(r.value, r.label) for r in FundingRoute]
DAY_CHOICES = [(value, value.capitalize()) for value in sp.DAY_VALUES]
SORT_CHOICES = [(s.value, s.label) for s in Sort]


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(
        "What are you looking for?",
        description="For example, home care, day centre, meals or a personal assistant",
        validators=[ParsedBy(sp.parse_query)],
        widget=GovTextInput(),
    )
    postcode = StringField(
        "Postcode",
        description="To find services near you, for example PE1 1XX",
        validators=[ParsedBy(sp.parse_postcode_text)],
        widget=GovTextInput(),
    )
    radius_miles = SelectField(
        "Distance",
        choices=[(str(m), f"Within {m} mile" + ("" if m == 1 else "s")) for m in sp.RADIUS_CHOICES],
        default=str(sp.DEFAULT_RADIUS_MILES),
        validate_choice=False,
        validators=[ParsedBy(sp.parse_radius)],
        widget=GovSelect(),
    )
    category = RadioField("Type of support", choices=[("", "Any type of support")], default="", validate_choice=False, validators=[ParsedBy(sp.parse_category)], widget=GovRadioInput())
    max_price = StringField(
        "Maximum price",
        description="In pounds, for each hour, visit, day, night, week or item as the provider charges",
        validators=[ParsedBy(sp.parse_price_pounds)],
        widget=GovTextInput(),
    )
    min_cqc_rating = RadioField(
        "CQC rating",
        description="Services CQC does not inspect, such as meals or transport, and providers not yet rated, are only shown under ‘Any, including not rated’",
        choices=RATING_CHOICES,
        default="",
        validate_choice=False,
        validators=[ParsedBy(sp.parse_rating)],
        widget=GovRadioInput(),
    )
    funding = RadioField("How you will pay", choices=FUNDING_CHOICES, default="", validate_choice=False, validators=[ParsedBy(sp.parse_funding)], widget=GovRadioInput())
    day = SelectMultipleField(
        "Days you need",
        description="Select all that apply. Services shown run on every day you select",
        choices=DAY_CHOICES,
        validate_choice=False,
        validators=[ParsedBy(sp.parse_days)],
        widget=GovCheckboxesInput(),
    )
    framework_only = BooleanField("Only council framework providers", widget=GovCheckboxInput(), validators=[ParsedBy(sp.parse_flag)])
    sort = SelectField("Sort by", choices=SORT_CHOICES, default=Sort.BEST_MATCH.value, validate_choice=False, validators=[ParsedBy(sp.parse_sort)], widget=GovSelect())

    def set_categories(self, categories: list[tuple[str, str]]) -> None:
        self.category.choices = [("", "Any type of support")] + list(categories)

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if ok and self.sort.parsed is Sort.DISTANCE and not self.postcode.parsed:
            self.sort.errors = [sp.DISTANCE_SORT_NEEDS_POSTCODE]
            self._errors = None  # WTForms caches form.errors
            ok = False
        return ok

    def add_errors(self, errors: dict[str, str]) -> None:
        """Errors found after the form's own checks (an unknown postcode district)."""
        for name, message in errors.items():
            field = getattr(self, "max_price" if name == "max_price_pence" else name, None)
            if field is not None:
                field.errors = list(field.errors or []) + [message]
            else:
                self.form_errors.append(message)
        self._errors = None  # WTForms caches form.errors

    def to_params(self, page: int) -> SearchParams:
        return SearchParams(
            q=self.q.parsed,
            category=self.category.parsed,
            postcode=self.postcode.parsed,
            radius_miles=self.radius_miles.parsed,
            max_price_pence=self.max_price.parsed,
            min_cqc_rating=self.min_cqc_rating.parsed,
            funding=self.funding.parsed,
            days=self.day.parsed,
            framework_only=self.framework_only.parsed,
            sort=self.sort.parsed,
            page=page,
        )
