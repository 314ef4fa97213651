"""Absolute links in the feed, always on PUBLIC_BASE_URL: a feed copied by another council
must point people at our pages, never at whatever host a request claimed to be for."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


class Links:
    """Builds the feed's links; made once per answer, so a page of 100 services binds the
    URL map once."""

    def __init__(self):
        base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
        self._adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)

    def to(self, endpoint: str, **values) -> str:
        return self._adapter.build(endpoint, values, force_external=True)

    def service(self, service_id: int) -> str:
        """The service's own page on the marketplace (the profile's required ``url``)."""
        return self.to("public.service", service_id=service_id)

    def provider(self, provider_id: int) -> str:
        return self.to("public.provider", provider_id=provider_id)

    def category(self, slug: str) -> str:
        return self.to("public.category", slug=slug)

    def openapi(self) -> str:
        return self.to("openreferral.openapi")
