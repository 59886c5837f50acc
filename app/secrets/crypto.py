"""The Fernet key that encrypts team secrets (cryptography's Fernet: AES-128-CBC + HMAC).

The key is `MIND_SECRET_KEY` when set. Otherwise, in embedded mode only (SQLite, every
process on one machine), a key generated on first use in `$MIND_HOME/secret.key` (mode
0600). Team mode refuses to run without `MIND_SECRET_KEY`: there is no default key, and a
key file on one machine would leave the other workers unable to decrypt.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from app.errors import StudioError
from app.settings import Settings

KEY_FILE = "secret.key"


class SecretKeyError(StudioError):
    status, code = 500, "secret_key"


def _key_file(home: Path) -> bytes:
    path = home / KEY_FILE
    home.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        key = Fernet.generate_key()
        handle.write(key)
    return key


def fernet(settings: Settings) -> Fernet:
    """SecretKeyError (naming MIND_SECRET_KEY) when no usable key is configured."""
    if settings.secret_key:
        key = settings.secret_key.encode("ascii", "replace")
    elif settings.database_url.startswith("sqlite"):
        key = _key_file(settings.home)
    else:
        raise SecretKeyError(
            "team mode needs MIND_SECRET_KEY (a Fernet key, the same on every process) to "
            "store team secrets",
            "MIND_SECRET_KEY",
        )
    try:
        return Fernet(key)
    except ValueError:
        raise SecretKeyError(
            "MIND_SECRET_KEY is not a Fernet key (32 url-safe base64-encoded bytes); make one "
            'with python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key())"',
            "MIND_SECRET_KEY",
        ) from None


def encrypt(settings: Settings, value: str) -> str:
    return fernet(settings).encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(settings: Settings, token: str) -> str:
    try:
        return fernet(settings).decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SecretKeyError(
            "a team secret cannot be decrypted with this MIND_SECRET_KEY (was the key changed?)",
            "MIND_SECRET_KEY",
        ) from None
