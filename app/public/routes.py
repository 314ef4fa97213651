from __future__ import annotations

from flask import current_app, jsonify, render_template, request

from app.models import SearchChannel
from app.public import bp
from app.presenters.search import distance_text, facet_items, search_url
from app.public.forms import SearchForm
from app.services import catalogue, ranking, search, search_log
from app.services.errors import ValidationError
from app.services.health import health_report
from app.services.pagination import clamp_page


def _page_arg() -> int:
    return clamp_page(request.args.get("page", type=int))


@bp.get("/")
def home():
    return render_template("public/home.html", categories=catalogue.categories_with_counts())


@bp.get("/categories/<slug:slug>")
def category(slug: str):
    category = catalogue.category_by_slug(slug)
    page = catalogue.listed_services_in_category(category, _page_arg())
    return render_template("public/category.html", category=category, page=page)


bp.add_app_template_global(facet_items)
bp.add_app_template_global(search_url)
bp.add_app_template_global(distance_text)


@bp.get("/search")
def search_page():
    form = SearchForm(request.args)
    form.set_categories(search.category_choices())
    results = None
    if form.validate():
        params = form.to_params(page=_page_arg())
        try:
            results = search.search(params)
        except ValidationError as exc:
            form.add_errors(exc.errors)
        except search.SearchUnavailable:
            return render_template("public/search_unavailable.html", categories=catalogue.categories_with_counts()), 503
        else:
            search_log.record(params, results.total, SearchChannel.WEB)
    return render_template("public/search.html", form=form, results=results)


@bp.get("/services/<id:service_id>")
def service(service_id: int):
    service = catalogue.get_listed_service(service_id)
    framework = catalogue.framework_status(service.provider, service.category)
    return render_template(
        "public/service.html",
        service=service,
        provider=service.provider,
        framework=framework,
        rank=ranking.service_rank(service.id),
    )


@bp.get("/providers/<id:provider_id>")
def provider(provider_id: int):
    provider = catalogue.get_listed_provider(provider_id)
    return render_template(
        "public/provider.html",
        provider=provider,
        services=catalogue.listed_services_of(provider),
        lots=catalogue.approved_lots(provider),
    )


@bp.get("/accessibility")
def accessibility():
    return render_template("public/accessibility.html")


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
