"""
Licenses issued to a company and their allocation to devices.

Files: ``models.py`` (with the one status rule), ``choices.py``,
``services.py`` (issue, update, suspend, and ``license_lock_free`` for
devices), ``selectors.py``, ``views.py``, ``urls.py``, ``templates/licensing/``,
``admin.py`` and the ``issue_licenses`` command. No ``forms.py``: licenses
have no Back Office form; operators issue them with ``manage.py
issue_licenses`` and edit them in the Django admin.
"""
