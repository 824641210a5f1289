"""
The token of an invitation link.

The token is not stored: it is an HMAC (keyed by ``SECRET_KEY``, with a salt
of its own) over the invitation's public id and its nonce, so a database dump
alone yields no working link. Resend replaces the nonce, which kills every
link sent before.
"""

import secrets

from django.utils.crypto import constant_time_compare, salted_hmac

KEY_SALT = "backoffice.invitations.link"
# Longest token accepted for comparison (a SHA-256 digest in hex is 64).
TOKEN_MAX_LENGTH = 64


def nonce_new() -> str:
    """A fresh random nonce (128 bits) for an invitation's link."""
    return secrets.token_hex(16)


def link_token(*, public_id: object, nonce: str) -> str:
    """The token of the link of the invitation ``public_id`` with ``nonce``."""
    return salted_hmac(KEY_SALT, f"{public_id}:{nonce}", algorithm="sha256").hexdigest()


def link_token_matches(*, public_id: object, nonce: str, token: str) -> bool:
    """Whether ``token`` is the link's token, compared in constant time."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return False
    return constant_time_compare(token, link_token(public_id=public_id, nonce=nonce))
