"""
Audit events: who did what, when; never a code or a credential.

Files: ``models.py`` (``AuditEvent``) and ``services.py`` (``audit_record``).
No selectors, forms, views, urls or templates yet: nothing in the Back Office
reads the trail so far (operators see it in the database); the audit log page
will add them. It sits below tenancy, so it knows users only as Django's auth
base class.
"""
