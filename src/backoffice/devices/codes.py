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

from backoffice.core.sealing import derived_key

CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
# Codes are issued with 12 characters, shown as XXXX-XXXX-XXXX: 20**12 ≈ 4.1e15
# codes (about 51.9 bits), the space the guessing budget of docs/security.md uses.
CODE_LENGTH = 12
CODE_SPACE = len(CODE_ALPHABET) ** CODE_LENGTH
# Codes issued before were 10 characters long (XXXXX-XXXXX); they are still
# redeemed while REGISTRATION_ACCEPT_LEGACY_CODES is on, and expire within
# MAX_CODE_LIFETIME (7 days) of the upgrade.
LEGACY_CODE_LENGTH = 10
CREDENTIAL_BYTES = 32  # 256 random bits


def code_generate() -> str:
    """Return a new code: 12 characters drawn with ``secrets`` from the no-vowel alphabet."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_normalize(raw: str) -> str:
    """Upper-case and drop spaces and dashes, so that typing variants compare equal."""
    return "".join(raw.split()).replace("-", "").upper()


def code_is_well_formed(code: str) -> bool:
    """A normalised code of 12 characters of the alphabet (or 10, a legacy code, while those are accepted)."""
    lengths = (CODE_LENGTH, LEGACY_CODE_LENGTH) if settings.REGISTRATION_ACCEPT_LEGACY_CODES else (CODE_LENGTH,)
    return len(code) in lengths and all(ch in CODE_ALPHABET for ch in code)


def code_format(code: str) -> str:
    """Show a code as ``XXXX-XXXX-XXXX`` (a legacy 10-character code as ``XXXXX-XXXXX``)."""
    if len(code) == LEGACY_CODE_LENGTH:
        return f"{code[:5]}-{code[5:]}"
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def code_digest(code: str) -> str:
    """The keyed digest (HMAC-SHA256) by which a normalised code is looked up."""
    key = derived_key("code-digest", settings.CODE_DIGEST_KEY)
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def _fernet() -> Fernet:
    key = derived_key("code-encryption", settings.CODE_ENCRYPTION_KEY)
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
