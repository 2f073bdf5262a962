"""The per-request GraphQL context: the request's database session, its loaders, its id."""

import uuid
from dataclasses import dataclass, field

from strawberry.fastapi import BaseContext

from graph.loaders import Loaders, create_loaders
from graph.request_session import RequestSession


@dataclass
class Context(BaseContext):
    """What every resolver gets as `info.context`."""

    db: RequestSession
    loaders: Loaders = field(init=False)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        """Give the request its own loaders (and so its own caches)."""
        super().__init__()
        self.loaders = create_loaders(self.db)
