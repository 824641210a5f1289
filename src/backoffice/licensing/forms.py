"""Licenses have no Back Office form: operators issue them (``manage.py issue_licenses``, the Django admin)."""
