"""
Registration codes and device credentials: generation, normalisation and the
keyed digests and encryption that keep them out of a database dump
(DESIGN §3). Nothing here touches the database.
"""

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
CODE_LENGTH = 10
CREDENTIAL_BYTES = 32  # 256 random bits


def _derived_key(purpose: str, configured: str) -> bytes:
    """A 32-byte key: the configured one, or one derived from SECRET_KEY for ``purpose``."""
    material = configured or settings.SECRET_KEY
    return hashlib.sha256(f"backoffice:{purpose}:{material}".encode()).digest()


def code_generate() -> str:
    """Return a new code: 10 characters drawn with ``secrets`` from the no-vowel alphabet."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_normalize(raw: str) -> str:
    """Upper-case and drop spaces and dashes, so that typing variants compare equal."""
    return "".join(raw.split()).replace("-", "").upper()


def code_is_well_formed(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code)


def code_format(code: str) -> str:
    """Show a code as ``XXXXX-XXXXX``."""
    return f"{code[:5]}-{code[5:]}"


def code_digest(code: str) -> str:
    """The keyed digest (HMAC-SHA256) by which a normalised code is looked up."""
    key = _derived_key("code-digest", settings.CODE_DIGEST_KEY)
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def _fernet() -> Fernet:
    key = _derived_key("code-encryption", settings.CODE_ENCRYPTION_KEY)
    return Fernet(base64.urlsafe_b64encode(key))


def code_seal(code: str) -> bytes:
    """Encrypt a code for display in Pending Registrations."""
    return _fernet().encrypt(code.encode())


def code_unseal(sealed: bytes | memoryview | None) -> str | None:
    """Decrypt a sealed code; None when wiped or unreadable (for example after a key change)."""
    if not sealed:
        return None
    try:
        return _fernet().decrypt(bytes(sealed)).decode()
    except InvalidToken:
        return None


def credential_generate() -> str:
    """A new device credential: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(CREDENTIAL_BYTES)


def credential_digest(credential: str) -> str:
    """SHA-256 of a credential: the only form in which it is stored."""
    return hashlib.sha256(credential.encode()).hexdigest()
