"""
Invitations of Back Office users: an Administrator invites an address, the
outbox emails a link, and the owner of the mailbox opens it, sets a password
and becomes a user of the company with the role the invitation names. The
Users page lives here, since it lists users and pending invitations together.

Files: ``models.py``, ``choices.py``, ``tokens.py`` (the link's token),
``services.py``, ``selectors.py``, ``forms.py``, ``views.py``, ``urls.py``,
``admin.py``, ``templates/invitations/``.
"""
