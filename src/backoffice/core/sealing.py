"""
Keys derived for one purpose each, and the encryption of secrets the Back
Office must read back (a registration code's displayed copy, a two-factor
key), so that a database dump alone reveals none of them.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

__all__ = ["InvalidToken", "derived_key", "seal", "unseal"]


def derived_key(purpose: str, configured: str) -> bytes:
    """A 32-byte key: the configured one, or one derived from SECRET_KEY for ``purpose``."""
    material = configured or settings.SECRET_KEY
    return hashlib.sha256(f"backoffice:{purpose}:{material}".encode()).digest()


def _fernet(purpose: str, configured: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derived_key(purpose, configured)))


def seal(text: str, *, purpose: str, configured: str = "") -> str:
    """Encrypt ``text`` (authenticated, Fernet) with the key for ``purpose``."""
    return _fernet(purpose, configured).encrypt(text.encode()).decode()


def unseal(token: str, *, purpose: str, configured: str = "") -> str:
    """Decrypt what ``seal`` gave; ``InvalidToken`` when it was not sealed with this key."""
    return _fernet(purpose, configured).decrypt(token.encode()).decode()
