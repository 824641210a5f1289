"""
Companies, Back Office users and roles, and everything that is the tenant's:
the company scope (``scoping.py``), the middleware that opens it, the one
permission module (``permissions.py``), the typed request (``http.py``).

Files: ``models.py``, ``choices.py``, ``services.py``, ``selectors.py``,
``forms.py``, ``views.py``, ``urls.py``, ``templates/tenancy/``, ``admin.py``
(with ``service_admin.py``, the admin base that writes through services).
"""
