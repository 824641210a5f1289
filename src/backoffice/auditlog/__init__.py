"""
The company audit log page: every audit event the signed-in user may see,
filtered from the URL, paged by keyset, exported as CSV.

It reads only (events, and devices, teams and users to name them), so it has
no models, services or admin of its own: the events are ``backoffice.audit``'s,
and operators read every company's in the Django admin there. It sits in the
top layer beside ``device_api`` because it names devices, teams and users.
"""
