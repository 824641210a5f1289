"""
The device API's path past the browser middleware.

The app calls the API with a bearer credential and reads JSON: sessions,
CSRF, messages, the signed-in user's company scope, htmx and the page headers
(X-Frame-Options, Content-Security-Policy) do nothing for it, yet together
they cost more than the rest of a check-in. ``DeviceApiMiddleware``, placed
right after ``SecurityMiddleware`` (whose HTTPS redirect and headers apply to
the API as to every page), answers the API's calls by calling the API's view
directly. A ``POST`` to the check-ins, the hottest call, goes to
``api.check_in_direct``, which answers a well-formed one without Ninja's
per-operation machinery and hands every other to the check-in's Ninja view.
The docs page is HTML and takes the ordinary path, with every page header.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.urls import ResolverMatch, resolve, reverse

from backoffice.device_api.api import check_in_direct


class DeviceApiMiddleware:
    """
    Serve requests under the device API's prefix without the middleware after
    this one. The host is validated as ``CommonMiddleware`` would
    (``ALLOWED_HOSTS``, a 400 otherwise); the view, a Ninja operation or the
    API's JSON not-found, answers every error itself in the API's shape.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self._prefix: str | None = None
        self._docs = ""
        self._check_ins = ""
        self._check_ins_match: ResolverMatch | None = None

    def _paths(self) -> str:
        # Reversed on first use, once the URLconf is loaded.
        if self._prefix is None:
            self._docs = reverse("device_api:openapi-view")
            self._check_ins = reverse("device_api:check_in")
            self._check_ins_match = resolve(self._check_ins)
            self._prefix = reverse("device_api:api-root")
        return self._prefix

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path_info
        if not path.startswith(self._paths()) or path == self._docs:
            return self.get_response(request)
        request.get_host()
        if path == self._check_ins and request.method == "POST" and self._check_ins_match is not None:
            request.resolver_match = self._check_ins_match
            return check_in_direct(request, self._check_ins_match.func)
        match = resolve(path)
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)
