"""Strawberry's extension hooks, entered without rebuilding their wrappers on every request.

For each phase of an operation (operation, parsing, validation, execution), Strawberry's
runner asks every extension's class whether it has the phase's hook and wraps the hook with
`contextlib.contextmanager`, which copies the function's metadata (`functools.update_wrapper`)
each time: four phases times our twelve extensions on every request, about a tenth of a small
read's CPU (py-spy, Viewer). Which hooks a class has does not change after import, so
`HookRunner` decides it once per list of extension classes and phase, and makes each hook's
wrapper factory once. Everything else is Strawberry's: the same context-manager classes,
entered in the same order by the same exit stacks, so errors and cancellation travel through
the hooks as they did.
"""

import contextlib
import functools
import inspect
from collections.abc import Callable
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    ExtensionContextManagerBase,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner

# Makes the phase's context manager of one extension (called with the extension).
HookFactory = Callable[[SchemaExtension], Any]
# Per phase, for one list of extension classes: (position, factory, is async) of each hook.
Hooks = tuple[tuple[int, HookFactory, bool], ...]

# Keyed by phase and the extensions' classes (a schema has one list; tests may build others).
_HOOKS: dict[tuple[str, tuple[type[SchemaExtension], ...]], Hooks | None] = {}


def _factory(extension_class: type[SchemaExtension], phase: str) -> tuple[HookFactory, bool] | None:
    """The phase's hook of `extension_class` as a factory of context managers.

    None for a hook written as a plain function or coroutine: Strawberry wraps those per
    extension (`from_callable`), and the runner leaves them to it.
    """
    hook = getattr(extension_class, phase)
    if inspect.isgeneratorfunction(hook):
        return contextlib.contextmanager(hook), False
    if inspect.isasyncgenfunction(hook):
        return contextlib.asynccontextmanager(hook), True
    return None


def _hooks(phase: str, default: object, extensions: list[SchemaExtension]) -> Hooks | None:
    """The phase's hooks for these extensions; None if one is not a generator (Strawberry's way)."""
    key = (phase, tuple(type(extension) for extension in extensions))
    if key in _HOOKS:
        return _HOOKS[key]
    hooks: list[tuple[int, HookFactory, bool]] = []
    for position, extension_class in enumerate(key[1]):
        if getattr(extension_class, phase) is default:
            continue
        made = _factory(extension_class, phase)
        if made is None:
            _HOOKS[key] = None
            return None
        hooks.append((position, *made))
    _HOOKS[key] = tuple(hooks)
    return _HOOKS[key]


class _CachedHooks(ExtensionContextManagerBase):
    """A phase's context manager whose hooks come from the per-class cache.

    Mixed in before Strawberry's manager of the phase, which names it (`HOOK_NAME`).
    """

    def __init__(self, extensions: list[SchemaExtension]) -> None:
        """The extensions' hooks for this phase, in their order (Strawberry's when uncached)."""
        default = getattr(SchemaExtension, self.HOOK_NAME)
        hooks = _hooks(self.HOOK_NAME, default, extensions)
        if hooks is None:
            super().__init__(extensions)
            return
        self.default_hook = default
        self.hooks = [
            WrappedHook(
                extension=extensions[position],
                hook=functools.partial(factory, extensions[position]),
                is_async=is_async,
            )
            for position, factory, is_async in hooks
        ]


class _Operation(_CachedHooks, OperationContextManager):
    """The `on_operation` hooks."""


class _Parsing(_CachedHooks, ParsingContextManager):
    """The `on_parse` hooks."""


class _Validation(_CachedHooks, ValidationContextManager):
    """The `on_validate` hooks."""


class _Executing(_CachedHooks, ExecutingContextManager):
    """The `on_execute` hooks."""


class HookRunner(SchemaExtensionsRunner):
    """Strawberry's runner, with each phase's hooks found once per extension class."""

    def operation(self) -> OperationContextManager:
        """The `on_operation` hooks."""
        return _Operation(self.extensions)

    def parsing(self) -> ParsingContextManager:
        """The `on_parse` hooks."""
        return _Parsing(self.extensions)

    def validation(self) -> ValidationContextManager:
        """The `on_validate` hooks."""
        return _Validation(self.extensions)

    def executing(self) -> ExecutingContextManager:
        """The `on_execute` hooks."""
        return _Executing(self.extensions)
