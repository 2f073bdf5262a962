"""The compiled path: read queries planned into one SQL statement (see fast_path.py)."""

from graph.compiler.fast_path import PLANS, CompiledReads, PlanCache, RawData, encode_response
from graph.compiler.transpile import Plan, compile_operation

__all__ = [
    "PLANS",
    "CompiledReads",
    "Plan",
    "PlanCache",
    "RawData",
    "compile_operation",
    "encode_response",
]
