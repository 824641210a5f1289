"""
Spreadsheet imports: devices to pre-register, employees and clients from a
CSV or XLSX file, with a preview of every row's problems before anything is
saved (docs/import.md).

Files: ``kinds.py`` (the three kinds and their columns), ``parsing.py``
(reading CSV and XLSX into rows; no database), ``models.py`` (an upload kept
for its preview), ``services.py``, ``selectors.py``, ``forms.py``,
``views.py``, ``urls.py``, ``templates/imports/``. The rows are checked and
saved by the services of the app that owns them
(``organization.services.employees_import``, ``clients_import``,
``devices.services.devices_import``). No ``admin.py``: uploads expire
within a day and hold nothing an operator edits.
"""
