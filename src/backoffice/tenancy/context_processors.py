from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

# The main navigation: (label, URL name). Pages that do not exist are skipped.
NAVIGATION = (
    ("Active Devices", "devices:active"),
    ("Teams", "organization:teams"),
    ("Employees", "organization:employees"),
    ("Clients", "organization:clients"),
    ("Areas", "organization:areas"),
    ("Licenses", "licensing:licenses"),
    ("Users", "tenancy:users"),
    ("Settings", "tenancy:settings"),
)


def tenancy(request: HttpRequest) -> dict[str, object]:
    company = getattr(request, "company", None)
    items = []
    if company is not None:
        for label, name in NAVIGATION:
            try:
                url = reverse(name)
            except NoReverseMatch:
                continue
            items.append({"label": label, "url": url, "current": request.path.startswith(url)})
    return {"company": company, "nav_items": items}
