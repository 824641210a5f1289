"""
Teams, employees, areas and clients, and the creation of a company with its
Default Team (``company_create``).

Files: ``models.py``, ``choices.py``, ``services.py``, ``selectors.py``,
``forms.py``, ``views.py``, ``urls.py``, ``templates/organization/``,
``admin.py`` and the ``create_company`` command.
"""
