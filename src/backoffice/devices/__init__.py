"""
Devices, their registration codes and credentials, the clients rule, the
Active Devices page and the Device dialog.

Files: ``models.py``, ``choices.py``, ``codes.py`` (no database),
``clients.py`` (the Clients tab rule), ``services/``, ``selectors/``,
``forms/``, ``views.py``, ``urls.py``, ``report.py`` (the CSV writer),
``templates/devices/`` and ``templatetags/``. No ``admin.py``: operators
manage licenses, not devices, and a company's administrators manage its
devices on the Active Devices page.
"""
