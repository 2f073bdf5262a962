"""Who is asking: the authenticated user behind a request, if any."""

import uuid
from dataclasses import dataclass

import models
from models.auth import TokenHolder


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user of a request and the login session that authenticated it."""

    user_id: uuid.UUID
    email: str
    role: models.UserRole
    session_id: uuid.UUID

    @property
    def is_admin(self) -> bool:
        """Admins see and change everything."""
        return self.role is models.UserRole.ADMIN

    @property
    def is_host(self) -> bool:
        """Hosts own venues (admins count as hosts too)."""
        return self.role in (models.UserRole.HOST, models.UserRole.ADMIN)

    @classmethod
    def from_login(cls, user: models.User, login: models.LoginSession) -> "Viewer":
        """The viewer a valid login session stands for."""
        return cls(
            user_id=user.id, email=user.email, role=models.UserRole(user.role), session_id=login.id
        )

    @classmethod
    def from_token_holder(cls, holder: TokenHolder) -> "Viewer":
        """The viewer a bearer token signs in (graph/core/authentication.py)."""
        return cls(
            user_id=holder.user_id,
            email=holder.email,
            role=models.UserRole(holder.role),
            session_id=holder.session_id,
        )
