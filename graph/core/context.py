"""The per-request GraphQL context: who is asking, their session, loaders and request id."""

import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.fastapi import BaseContext

from graph.core.loaders import Loaders, create_loaders
from graph.core.permissions import require_admin, require_viewer
from graph.core.request_database import RequestDatabase
from graph.core.viewer import Viewer
from models import Actor


@dataclass
class Context(BaseContext):
    """What every resolver gets as `info.context`."""

    db: RequestDatabase
    viewer: Viewer | None = None
    # Why a bearer token sent with the request was refused; None when none was sent.
    auth_failure: str | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The app's pool-less engine, for reads that must not use the request's session (health).
    probe_engine: AsyncEngine | None = None
    # Whether a query may be answered by its compiled statement (graph/compiler/); the app
    # sets it from the `fast_path` setting, the tests run reads both ways.
    compiled_reads: bool = False
    _loaders: Loaders | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        """Strawberry's own context fields."""
        super().__init__()

    @property
    def loaders(self) -> Loaders:
        """The request's own loaders (and so its own caches), made on first use.

        A query the compiled path answers never uses them: building a dozen loaders was a
        measurable share of such a request.
        """
        if self._loaders is None:
            self._loaders = create_loaders(self.db, self.viewer)
        return self._loaders

    def forget_loaders(self) -> None:
        """Drop the loaders (the viewer changed: they answer for the viewer they were made for)."""
        self._loaders = None

    def require_viewer(self) -> Viewer:
        """The signed-in viewer, or `UNAUTHENTICATED`."""
        return require_viewer(self.viewer, failure=self.auth_failure)

    def require_admin(self) -> Viewer:
        """The viewer if an admin; `UNAUTHENTICATED` or `FORBIDDEN` otherwise."""
        return require_admin(self.viewer, failure=self.auth_failure)

    @property
    def actor(self) -> Actor:
        """The audit trail's record of who makes this request's writes."""
        return Actor(
            user_id=self.viewer.user_id if self.viewer else None,
            email=self.viewer.email if self.viewer else None,
            ip_address=self.ip_address,
            user_agent=self.user_agent,
        )
