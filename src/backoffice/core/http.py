"""What can be believed about where a request came from."""

import ua_parser
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


def user_agent_summary(user_agent: str) -> str:
    """
    A browser's User-Agent as a person reads it: "Chrome 150 on Linux",
    "Mobile Safari 18 on iPhone (iOS 18)"; the raw string, shortened, when
    it cannot be read.
    """
    parsed = ua_parser.parse(user_agent or "")
    if parsed.user_agent is None:
        return (user_agent or "Unknown browser")[:60]
    browser = " ".join(filter(None, [parsed.user_agent.family.removeprefix("Headless"), parsed.user_agent.major]))
    system = " ".join(filter(None, [parsed.os.family, parsed.os.major])) if parsed.os else ""
    device = parsed.device.family if parsed.device and parsed.device.family not in ("Other", "Mac") else ""
    where = f"{device} ({system})" if device and system else device or system
    return f"{browser} on {where}" if where else browser
