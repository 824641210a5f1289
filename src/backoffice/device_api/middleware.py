"""
The device API's path past the browser middleware.

The app calls the API with a bearer credential and reads JSON: sessions,
CSRF, messages, the signed-in user's company scope, htmx and the page headers
(X-Frame-Options, Content-Security-Policy) do nothing for it, yet together
they cost more than the rest of a check-in. ``DeviceApiMiddleware``, placed
right after ``SecurityMiddleware`` (whose HTTPS redirect and headers apply to
the API as to every page), answers the API's calls by calling the API's view
directly. The docs page is HTML and takes the ordinary path, with every page
header.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.urls import resolve, reverse


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

    def _paths(self) -> str:
        # Reversed on first use, once the URLconf is loaded.
        if self._prefix is None:
            self._docs = reverse("device_api:openapi-view")
            self._prefix = reverse("device_api:api-root")
        return self._prefix

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path_info
        if not path.startswith(self._paths()) or path == self._docs:
            return self.get_response(request)
        request.get_host()
        match = resolve(path)
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)
