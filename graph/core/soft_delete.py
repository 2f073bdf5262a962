"""Delete and restore, written once for every soft-deletable entity: types, mutations, the write.

An entity declares its wording and who may change a row (`SoftDeletion`); the `delete<X>` and
`restore<X>` mutations, their `Delete<X>Input`/`Restore<X>Input` inputs and
`Delete<X>Payload`/`Restore<X>Payload` payloads are built from that declaration, so the two
entities that have them cannot drift apart (they were 49 lines written twice).
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from aiodataloader import DataLoader
from strawberry.types.field import StrawberryField

import models
from graph.core.context import Context
from graph.core.declared_resolver import REQUIRED, declare_arguments
from models.base import SoftDelete

Row = TypeVar("Row", bound=SoftDelete)
NodeT = TypeVar("NodeT")


async def set_deleted(
    info: strawberry.Info[Context],
    row: Row,
    *,
    deleted: bool,
    refresh: Callable[[strawberry.Info[Context], Row], None],
) -> Row:
    """Soft-delete (`deleted`) or restore `row` in one audited write; the row as changed.

    `refresh` updates the request's loaders. Deleting a deleted row, or restoring a live one,
    changes nothing.
    """
    change = models.soft_delete if deleted else models.restore
    changed = await info.context.db.write(info.context.actor, lambda session: change(session, row))
    refresh(info, changed)
    return changed


def replace_cached(loader: DataLoader[uuid.UUID, Any], row: models.Venue | models.Media) -> None:
    """After a write: forget a by-id loader's copy of `row`; keep the new one if it is live."""
    loader.clear(row.id)
    if not row.is_deleted:
        loader.prime(row.id, row)


@dataclass(frozen=True, kw_only=True)
class SoftDeletion(Generic[Row, NodeT]):
    """What an entity says of its delete and restore mutations; the rest is built from it.

    `type_name` names the GraphQL types (`Delete<type_name>Input`...), `field` the payload's
    field (`venue`), `noun` the object in descriptions ("venue", "media item").
    `to_manage` loads the row the viewer may change (deleted rows included) or raises.
    """

    type_name: str
    field: str
    noun: str
    node: type[NodeT]
    to_node: Callable[[Row], NodeT]
    to_manage: Callable[[strawberry.Info[Context], strawberry.ID], Awaitable[Row]]
    refresh: Callable[[strawberry.Info[Context], Row], None]
    who: str  # who may delete and restore, as the mutations' descriptions end
    gone: str  # what deleting does to the object, for the delete payload's field
    back: str  # the same for restoring

    def delete_mutation(self) -> StrawberryField:
        """`delete<type_name>`: soft-delete; deleting a deleted object changes nothing."""
        return self._mutation(
            "Delete",
            deleted=True,
            description=f"Delete a {self.noun} (it can be restored). {self.who}",
            input_description=f"The {self.noun} to delete.",
            payload_field=f"The {self.noun} as it was deleted; {self.gone}",
        )

    def restore_mutation(self) -> StrawberryField:
        """`restore<type_name>`: bring back; restoring a live object changes nothing."""
        return self._mutation(
            "Restore",
            deleted=False,
            description=f"Bring back a deleted {self.noun}. {self.who}",
            input_description=f"The deleted {self.noun} to bring back.",
            payload_field=f"The {self.noun}, {self.back}",
        )

    def _mutation(
        self,
        verb: str,
        *,
        deleted: bool,
        description: str,
        input_description: str,
        payload_field: str,
    ) -> StrawberryField:
        input_type = _type(
            strawberry.input,
            f"{verb}{self.type_name}Input",
            description=input_description,
            doc=f"Which {self.noun}.",
            fields={"id": (strawberry.ID, f"The {self.noun}'s global ID.")},
        )
        payload = _type(
            strawberry.type,
            f"{verb}{self.type_name}Payload",
            description=f"The result of `{verb.lower()}{self.type_name}`.",
            doc=f"The {verb.lower()}d {self.noun}.",
            fields={self.field: (self.node, payload_field)},
        )

        async def resolve(info: strawberry.Info[Context], input: Any) -> Any:  # noqa: A002, ANN401 - `input` is the GraphQL contract; typed below
            row = await self.to_manage(info, input.id)
            changed = await set_deleted(info, row, deleted=deleted, refresh=self.refresh)
            return payload(**{self.field: self.to_node(changed)})

        verb_done = "deleted" if deleted else "restored"
        argument = strawberry.argument(description=f"The {self.noun} to {verb.lower()}.")
        declare_arguments(
            resolve,
            {"input": (Annotated[input_type, argument], REQUIRED)},
            returns=payload,
            doc=f"The {self.noun}, {verb_done} (idempotent).",
        )
        mutation: StrawberryField = strawberry.mutation(resolver=resolve, description=description)
        return mutation


def _type(
    decorator: Callable[..., Any],
    name: str,
    *,
    description: str,
    doc: str,
    fields: dict[str, tuple[object, str]],
) -> Any:  # noqa: ANN401 - a Strawberry type built at import time
    """A Strawberry input or object type named `name` with `fields` (type, description)."""
    namespace: dict[str, object] = {
        "__doc__": doc,
        "__module__": __name__,
        "__annotations__": {field: annotation for field, (annotation, _) in fields.items()},
    }
    for field_name, (_, field_description) in fields.items():
        namespace[field_name] = strawberry.field(description=field_description)
    return decorator(type(name, (), namespace), description=description)
