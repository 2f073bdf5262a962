"""Every error a client sees carries `extensions.code`; unexpected ones are logged and masked."""

import logging
import re
from collections.abc import Iterator
from functools import lru_cache

from graphql import (
    ArgumentNode,
    ASTValidationRule,
    GraphQLError,
    GraphQLSyntaxError,
    NoSchemaIntrospectionCustomRule,
    ValuesOfCorrectTypeRule,
    VariableDefinitionNode,
    VariableNode,
    specified_rules,
)
from strawberry.extensions import MaskErrors, SchemaExtension

from graph.core.errors import ClientError, ErrorCode
from graph.schema import unavailability
from graph.schema.unavailability import database_unavailable, statement_timed_out

logger = logging.getLogger("graph.errors")
# What Strawberry's MaskErrors says in place of an unexpected error's message.
UNEXPECTED_MESSAGE = "Unexpected error."

# graphql-core raises the token limit's refusal as a plain syntax error: only its message
# tells it apart.
_TOO_MANY_TOKENS = re.compile(r"^Syntax Error: Document contains more than \d+ tokens")
# Depth and alias refusals carry their own code (graph/schema/query_depth.py). Variable errors
# without a variable's node (too many of them, nested too deeply) are known only by message.
_LIMIT_CODES = ((re.compile(r"^Variable"), ErrorCode.BAD_USER_INPUT),)
# An argument that fails coercion at execution (a variable's value checked against a
# non-null argument) is reported against its field, named only in the message.
_ARGUMENT = re.compile(r"^Argument '(?:\w+\.\w+\()?(?P<name>\w+)(?::\))?'")

# The code of each validation rule's errors, set as the rule reports them (see tag_rules).
_RULE_CODES: dict[type[ASTValidationRule], ErrorCode] = {
    **dict.fromkeys(specified_rules, ErrorCode.GRAPHQL_VALIDATION_FAILED),
    ValuesOfCorrectTypeRule: ErrorCode.BAD_USER_INPUT,
    NoSchemaIntrospectionCustomRule: ErrorCode.INTROSPECTION_DISABLED,
}


class ValidationCodes(SchemaExtension):
    """Validate with rules that give each error their code (placed after QueryLimiter)."""

    def on_validate(self) -> Iterator[None]:
        """Replace the operation's rules by their tagged versions, the same classes each time.

        In the validation step (placed before the validation cache, which validates), not around
        the operation, whose hooks a subscription keeps for its whole life.
        """
        context = self.execution_context
        context.validation_rules = tag_rules(tuple(context.validation_rules))
        yield


@lru_cache(maxsize=32)
def tag_rules(
    rules: tuple[type[ASTValidationRule], ...],
) -> tuple[type[ASTValidationRule], ...]:
    """`rules`, each known rule replaced by one setting its code (cached: validation caches)."""
    return tuple(_TAGGED.get(rule, rule) for rule in rules)


def _tagged(rule: type[ASTValidationRule]) -> type[ASTValidationRule]:
    """`rule`, its errors carrying `extensions.code` (and, for values, the argument's name)."""
    code = _RULE_CODES[rule].value

    def report_error(self: ASTValidationRule, error: GraphQLError) -> None:
        extensions: dict[str, object] = {"code": code}
        arguments = self.__dict__.get("_arguments")
        if arguments:
            extensions["field"] = arguments[0]
        error.extensions = {**extensions, **(error.extensions or {})}
        rule.report_error(self, error)

    def enter_argument(self: ASTValidationRule, node: ArgumentNode, *_: object) -> None:
        self.__dict__.setdefault("_arguments", []).append(node.name.value)

    def leave_argument(self: ASTValidationRule, *_: object) -> None:
        self.__dict__["_arguments"].pop()

    namespace: dict[str, object] = {"report_error": report_error}
    if code == ErrorCode.BAD_USER_INPUT.value:
        namespace |= {"enter_argument": enter_argument, "leave_argument": leave_argument}
    return type(rule.__name__, (rule,), namespace)


_TAGGED = {rule: _tagged(rule) for rule in _RULE_CODES}


def assign_code(error: GraphQLError) -> None:
    """Give an error graphql-core raised about the request itself its `extensions.code`."""
    original = error.original_error
    if (error.extensions or {}).get("code") or isinstance(original, ClientError):
        return
    if original is not None and not isinstance(original, GraphQLError):
        return  # an exception from our code: masked, with its own code, on the way out
    error.extensions = {**(error.extensions or {}), **_classify(error)}


def _classify(error: GraphQLError) -> dict[str, object]:
    """The code of an error no validation rule tagged: by its type and node, else its message."""
    source = error.original_error if isinstance(error.original_error, GraphQLError) else error
    nodes = error.nodes or source.nodes
    node = nodes[0] if nodes else None
    if isinstance(source, GraphQLSyntaxError):
        too_long = _TOO_MANY_TOKENS.match(source.message)
        code = ErrorCode.TOO_MANY_TOKENS if too_long else ErrorCode.GRAPHQL_PARSE_FAILED
    elif isinstance(node, VariableDefinitionNode):
        return {"code": ErrorCode.BAD_USER_INPUT.value, "field": node.variable.name.value}
    elif isinstance(node, ArgumentNode):
        return {"code": ErrorCode.BAD_USER_INPUT.value, "field": node.name.value}
    elif isinstance(node, VariableNode):
        # An argument's value from a variable, refused at run time: the node is the variable,
        # the argument is named only in the message.
        argument = _ARGUMENT.match(source.message)
        field = argument["name"] if argument else node.name.value
        return {"code": ErrorCode.BAD_USER_INPUT.value, "field": field}
    elif argument := _ARGUMENT.match(source.message):
        return {"code": ErrorCode.BAD_USER_INPUT.value, "field": argument["name"]}
    else:
        code = next(
            (code for pattern, code in _LIMIT_CODES if pattern.search(source.message)),
            ErrorCode.GRAPHQL_VALIDATION_FAILED,
        )
    return {"code": code.value}


def ensure_codes(errors: list[GraphQLError], *, request_id: str | None) -> list[GraphQLError]:
    """`errors`, each with a code: one that escaped masking is logged and masked here.

    The last check before a response goes out: an exception raised outside the operation's
    extensions (in a validation rule, say) reaches the response unmasked and without a code.
    """
    coded: list[GraphQLError] = []
    for error in errors:
        if (error.extensions or {}).get("code"):
            coded.append(error)
            continue
        logger.error(
            "unexpected error before execution (request %s)",
            request_id,
            exc_info=error.original_error or error,
        )
        coded.append(
            GraphQLError(
                UNEXPECTED_MESSAGE,
                nodes=error.nodes,
                path=error.path,
                extensions={
                    "code": ErrorCode.INTERNAL_SERVER_ERROR.value,
                    "requestId": request_id,
                },
            )
        )
    return coded


class MaskUnexpectedErrors(MaskErrors):
    """Mask exceptions from our code: the client gets the request id, the log the traceback."""

    def __init__(self) -> None:
        """Mask what is not a GraphQL error of ours or of graphql-core."""
        super().__init__(should_mask_error=self._is_unexpected)

    @staticmethod
    def _is_unexpected(error: GraphQLError) -> bool:
        original = error.original_error
        return original is not None and not isinstance(original, GraphQLError)

    def _request_id(self) -> str | None:
        request_id = getattr(self.execution_context.context, "request_id", None)
        return request_id if isinstance(request_id, str) else None

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        """Log the real exception with the request id; show the client only the id and code."""
        request_id = self._request_id()
        if statement_timed_out(error.original_error):
            logger.warning("statement timeout (request %s) at %s", request_id, error.path)
            return GraphQLError(
                message="The query took too long and was cancelled; narrow it or page it.",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": ErrorCode.QUERY_TIMEOUT.value, "requestId": request_id},
            )
        if database_unavailable(error.original_error):
            logger.warning(
                "database unavailable (request %s): %r", request_id, error.original_error
            )
            return GraphQLError(
                message=unavailability.MESSAGE,
                nodes=error.nodes,
                path=error.path,
                extensions={
                    "code": ErrorCode.SERVICE_UNAVAILABLE.value,
                    "requestId": request_id,
                },
            )
        logger.error(
            "unexpected error in %s (request %s)",
            ".".join(str(part) for part in error.path or ()),
            request_id,
            exc_info=error.original_error,
        )
        masked = super().anonymise_error(error)
        masked.extensions = {
            "code": ErrorCode.INTERNAL_SERVER_ERROR.value,
            "requestId": request_id,
        }
        return masked

    def on_operation(self) -> Iterator[None]:
        """Mask, then answer 503 with `Retry-After` when the database left nothing to return."""
        yield from super().on_operation()
        result = self.execution_context.result
        if result is None or result.data is not None or not result.errors:
            return
        codes = {(error.extensions or {}).get("code") for error in result.errors}
        response = getattr(self.execution_context.context, "response", None)
        if ErrorCode.SERVICE_UNAVAILABLE.value in codes and response is not None:
            response.status_code = 503
            response.headers["Retry-After"] = str(unavailability.RETRY_AFTER_SECONDS)
