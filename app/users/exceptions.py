from __future__ import annotations

from app.errors import Conflict, Forbidden, Invalid, NotFound


class EmailTaken(Conflict):
    def __init__(self, email: str):
        super().__init__(f"a user with email {email!r} already exists", "email")


class UserNotFound(NotFound):
    def __init__(self, email: str):
        super().__init__(f"no user with email {email!r}", "email")


class TokenNotFound(NotFound):
    def __init__(self, token_id: str):
        super().__init__(f"no token {token_id!r} of yours", "token_id")


class AdminOnly(Forbidden):
    def __init__(self) -> None:
        super().__init__("only an admin can do this")


class WeakPassword(Invalid):
    def __init__(self) -> None:
        super().__init__("a password needs at least 8 characters", "password")
