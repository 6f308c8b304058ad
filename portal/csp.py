"""Content Security Policy: strict on the site's own pages (no inline script or style at all), looser
only where the Wagtail and Django admins need it (their own inline scripts and styles).

Wagtail's live preview renders the edited page or snippet through the whole middleware chain under
the page's own path (``Page.make_preview_request``), then returns that response from an admin view
that the editor's side panel frames. Such a response (``request.is_preview``, set by Wagtail) may be
framed by this site; every real public response keeps ``frame-ancestors 'none'``."""

from __future__ import annotations

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings


class SiteCSPMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if request.path_info.startswith(settings.CSP_ADMIN_PREFIXES):
            parts.update = {**(parts.update or {}), **settings.CSP_ADMIN_ADDITIONS}
            parts.replace = {**(parts.replace or {}), **settings.CSP_ADMIN_REPLACEMENTS}
        elif getattr(request, "is_preview", False):
            parts.replace = {**(parts.replace or {}), **settings.CSP_PREVIEW_REPLACEMENTS}
        return parts
