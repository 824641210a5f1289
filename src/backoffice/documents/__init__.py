"""
Service requests, inspections and work orders recorded on devices.

Files: ``models.py``, ``choices.py``, ``services.py`` (``document_record``,
called by the device API with the clients the rule allows) and
``selectors.py``. No forms, views, urls or templates: documents are created
by devices through the device API and shown only as counts so far.
"""
