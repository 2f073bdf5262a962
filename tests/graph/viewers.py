"""Viewers for tests: who a GraphQL operation runs as."""

import uuid

import models
from graph.core.viewer import Viewer


def viewer_of(user: models.User) -> Viewer:
    """The viewer `user` would be when signed in (with a made-up login session id)."""
    return Viewer(
        user_id=user.id, email=user.email, role=models.UserRole(user.role), session_id=uuid.uuid4()
    )
