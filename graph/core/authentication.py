"""Turning a bearer token into the request's viewer (one statement; a touch now and then)."""

import datetime as dt
from dataclasses import dataclass

from graph.core.read_routing import Route
from graph.core.request_database import RequestDatabase
from graph.core.viewer import Viewer
from models import Actor, auth


@dataclass(frozen=True, slots=True)
class Authentication:
    """The outcome: a viewer, or why a sent token was refused (both None: no token sent)."""

    viewer: Viewer | None = None
    failure: str | None = None


async def authenticate_request(db: RequestDatabase, authorization: str | None) -> Authentication:
    """Look up the bearer token's live, unexpired, unrevoked session (one statement).

    Every few minutes of use also moves the session's `last_seen_at` (one short write).
    """
    if not authorization:
        return Authentication()
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return Authentication(failure="The Authorization header must be `Bearer <token>`.")
    holder = await db.run(lambda session: auth.token_holder(session, token=token))
    if holder is None and await db.read_on_primary(Route.PRIMARY_UNKNOWN_TOKEN):
        # Read on a replica, which may not have replayed a token just issued (`logIn` a
        # moment ago): only the primary can refuse it. The request reads there from now on.
        holder = await db.run(lambda session: auth.token_holder(session, token=token))
    if holder is None:
        return Authentication(failure="The token is invalid, expired or revoked; sign in again.")
    if auth.is_stale(holder, now=dt.datetime.now(dt.UTC)):
        actor = Actor(user_id=holder.user_id, email=holder.email)
        session_id = holder.session_id
        await db.write(actor, lambda session: auth.touch_session(session, session_id=session_id))
    return Authentication(viewer=Viewer.from_token_holder(holder))
