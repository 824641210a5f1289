"""
URLs of the device API, mounted at ``/api/device/v1/``.

Ninja answers an unknown path and a wrong method in HTML or plain text; the
contract says every error is JSON, so both are answered here in its shape.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotAllowed
from django.urls import URLPattern, URLResolver, re_path

from backoffice.device_api import errors
from backoffice.device_api.api import api, error_response


def _json_method_not_allowed(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            return error_response(request, errors.method_not_allowed(response["Allow"]))
        return response

    return wrapper


def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return error_response(request, errors.not_found())


not_found.csrf_exempt = True  # type: ignore[attr-defined]

app_name = "device_api"
patterns = api.urls[0]
for pattern in patterns:
    if isinstance(pattern, URLPattern):
        # Ninja's root view answers HTML; its name stays, Ninja reverses it for the schema's paths.
        pattern.callback = not_found if pattern.name == "api-root" else _json_method_not_allowed(pattern.callback)

urlpatterns: list[URLPattern | URLResolver] = [*patterns, re_path(r"^(?P<rest>.*)$", not_found)]
