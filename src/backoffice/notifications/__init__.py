"""
The outbox: queued emails and the worker that sends them (``send_outbox``).

Files: ``models.py``, ``choices.py``, ``services.py`` and the ``send_outbox``
command. It knows nothing of what an email says: the owning app registers a
renderer and housekeeping tasks. No selectors, forms, views, urls or
templates: the emails are listed and resent from the pages of the app that
owns them (devices' Pending Registrations).
"""
