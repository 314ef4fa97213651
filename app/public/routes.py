from __future__ import annotations

from flask import current_app, jsonify, render_template, request

from app.public import bp
from app.services import catalogue
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


@bp.get("/services/<id:service_id>")
def service(service_id: int):
    service = catalogue.get_listed_service(service_id)
    framework = catalogue.framework_status(service.provider, service.category)
    return render_template("public/service.html", service=service, provider=service.provider, framework=framework)


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
