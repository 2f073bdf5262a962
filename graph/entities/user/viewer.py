"""The root `viewer` field: who the request's bearer token signs in."""

import strawberry

from graph.core.context import Context
from graph.core.errors import UnauthenticatedError
from graph.entities.user.type import User


@strawberry.type
class ViewerQueries:
    """The signed-in user."""

    @strawberry.field(
        description=(
            "The signed-in user: null when the request sends no token; UNAUTHENTICATED (with"
            " the reason) when the token sent is invalid, expired or revoked. Their sessions are"
            " `viewer { sessions }`."
        )
    )
    async def viewer(self, info: strawberry.Info[Context]) -> User | None:
        """Load the viewer's user row through the request's user loader."""
        context = info.context
        if context.viewer is None:
            if context.auth_failure is not None:
                raise UnauthenticatedError(context.auth_failure)
            return None
        row = await context.loaders.user.load(context.viewer.user_id)
        return User.from_model(row) if row else None
