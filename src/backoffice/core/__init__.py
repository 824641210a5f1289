"""
Shared bases that know no domain: ``CompanyOwnedModel`` (the scoped manager
every tenant model uses), time zones, SVG charts, paging, rate-limit
counters, ``client_address`` and the page template tags.

It imports no other app (the bottom layer), so it has no models of its own,
no services, selectors, forms, views or urls.
"""
