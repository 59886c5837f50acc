"""Password and token hashing.

Passwords are low-entropy, so they get scrypt with a per-user salt; API tokens are 256
random bits, so one SHA-256 is enough and lets a request find its token by an index lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

TOKEN_PREFIX = "mind_"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    _, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    return hmac.compare_digest(candidate.hex(), digest)


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def verify_nobody(password: str) -> bool:
    """The same scrypt work as `verify_password`, for an email with no user: sign-in takes
    as long either way, so its timing does not tell which emails exist. Always False."""
    verify_password(password, _dummy_hash())
    return False


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
