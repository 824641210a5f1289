"""What can be believed about where a request came from."""

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """
    The address of the client that sent ``request``, as far as it can be trusted.

    ``REMOTE_ADDR`` is the answer unless it is one of ``settings.TRUSTED_PROXIES``;
    then ``X-Forwarded-For`` is read from the right, skipping the trusted proxies,
    and the first other address is the client. Addresses further left were written
    by the client itself and could be anything, so they are never believed.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    trusted = set(settings.TRUSTED_PROXIES)
    if remote not in trusted:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "") or ""
    for candidate in reversed([part.strip() for part in forwarded.split(",")]):
        if candidate and candidate not in trusted:
            return candidate[:64]
    return remote
