"""The fast path: supported queries compiled into one SQL statement that builds the JSON."""

from graph.compiler.fast_path import FastPath, PlanCache, RawData, encode_response
from graph.compiler.transpile import Plan, compile_operation

__all__ = ["FastPath", "Plan", "PlanCache", "RawData", "compile_operation", "encode_response"]
