from __future__ import annotations

import datetime as dt

from flask import current_app, jsonify, make_response, render_template, request
from flask_limiter.util import get_remote_address

from app.database import utcnow
from app.extensions import limiter
from app.models import SearchChannel
from app.presenters.calendars import ics_response
from app.presenters.search import (
    choice_params,
    distance_text,
    filter_choices,
    flag_params,
    input_params,
    search_error_list,
    search_url,
    select_params,
    service_hrefs,
)
from app.public import bp
from app.public.forms import SearchForm
from app.security import checks_its_own_input
from app.services import calendars, catalogue, council, provider_contact, reviews, search
from app.services.errors import NotFound, ValidationError
from app.services.health import health_report
from app.services.search import log as search_log


def _page_arg() -> int:
    """The page asked for; a page number that cannot exist is not found."""
    try:
        return search.parse_page(request.args.get("page"))
    except ValueError:
        raise NotFound("No such page") from None


@bp.get("/.well-known/security.txt")
def security_txt():
    """RFC 9116: whom to tell about a security problem (the council's security contact,
    else its contact email); not found when the council has given neither."""
    contact = council.security_contact_uri()
    if contact is None:
        raise NotFound("No security contact")
    expires = (utcnow() + dt.timedelta(days=180)).replace(hour=0, minute=0, second=0, microsecond=0)
    body = (
        f"Contact: {contact}\n"
        f"Expires: {expires.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
        "Preferred-Languages: en\n"
        f"Canonical: {current_app.config['PUBLIC_BASE_URL']}/.well-known/security.txt\n"
    )
    return body, 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "public, max-age=3600"}


@bp.get("/")
def home():
    return render_template("public/home.html", categories=catalogue.categories_with_counts())


@bp.get("/categories/<slug:slug>")
def category(slug: str):
    category = catalogue.category_by_slug(slug)
    page = catalogue.listed_services_in_category(category, _page_arg())
    if page.beyond_last:
        raise NotFound(f"No page {page.page} of {slug}")
    return render_template("public/category.html", category=category, page=page)


bp.add_app_template_global(search_url)
bp.add_app_template_global(service_hrefs)
bp.add_app_template_global(distance_text)
bp.add_app_template_global(filter_choices)
bp.add_app_template_global(search_error_list)
for _helper in (input_params, select_params, choice_params, flag_params):
    bp.add_app_template_global(_helper)


@bp.get("/search")
@checks_its_own_input
def search_page():
    form = SearchForm(request.args)
    categories = search.category_choices()
    form.set_categories(categories)
    params = results = None
    status = 200
    try:
        params = search.params_from_args(request.args, prices_in_pounds=True, categories=categories)
        results = search.search(params, categories=categories)
    except ValidationError as exc:
        form.add_errors(exc.errors)
    except search.SearchUnavailable:
        return render_template("public/search_unavailable.html", categories=catalogue.categories_with_counts()), 503
    else:
        if results.page.beyond_last:
            status = 404  # the page asked for is past the last: say so, with a link to the first
    form.show(params)
    response = make_response(render_template("public/search.html", form=form, results=results), status)
    if status == 200 and results is not None:
        search_log.record_after(response, params, results.total, SearchChannel.WEB)
    return response


@bp.get("/services/<id:service_id>")
def service(service_id: int):
    service = catalogue.get_listed_service(service_id)
    framework = catalogue.framework_status(service.provider, service.category)
    return render_template(
        "public/service.html",
        service=service,
        provider=service.provider,
        framework=framework,
        rank=search.listed_service_rank(service.id),
        review_summary=reviews.summary(service_id=service.id, now=utcnow()),
        review_list=reviews.published(service_id=service.id, now=utcnow()),
        reachable=provider_contact.can_be_reached(service.provider),
        unreachable_message=provider_contact.unreachable_message(service.provider),
    )


@bp.get("/providers/<id:provider_id>")
def provider(provider_id: int):
    provider = catalogue.get_listed_provider(provider_id)
    return render_template(
        "public/provider.html",
        provider=provider,
        services=catalogue.listed_services_of(provider),
        lots=catalogue.approved_lots(provider),
        review_summary=reviews.summary(provider_id=provider.id, now=utcnow()),
        review_list=reviews.published(provider_id=provider.id, now=utcnow()),
        review_names_service=True,
        # In the demo, whom to sign in as to see this provider's side.
        demo_owner=next(iter(provider_contact.leads(provider)), None) if current_app.config["DEMO_MODE"] else None,
    )


@bp.get("/accessibility")
def accessibility():
    return render_template("public/accessibility.html")


@bp.get("/reviews-policy")
def reviews_policy():
    return render_template("public/reviews_policy.html")


@bp.get("/cookies")
def cookies():
    return render_template("public/cookies.html")


@bp.get("/privacy")
def privacy():
    return render_template("public/privacy.html")


@bp.get("/health")
def health():
    report = health_report(current_app.config["SEARCH_INDEX_DIR"])
    response = jsonify(report)
    response.status_code = 200 if report["database"]["ok"] else 503
    return response


# A person's visits as an iCalendar feed at their secret address: what phone and desktop
# calendars subscribe to. No signing in (calendars cannot): the secret is the key, and an
# unknown or turned-off one answers 404 at once. Calendars fetch about hourly (the feed asks
# for that), so a whole office of phones behind one address stays well inside the limit.
FEED_LIMIT = "240 per hour"


@bp.get("/calendar/<secret>.ics")
@limiter.limit(FEED_LIMIT, key_func=get_remote_address, scope="calendar-feed")
def calendar_feed(secret: str):
    feed = calendars.feed_for_secret(secret)
    return ics_response(calendars.feed_file(feed), "care-visits.ics", secret_address=True)
