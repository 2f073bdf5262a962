"""How uvicorn serves the app: the options `sartiq serve`, the tests and the benchmarks share.

Websockets (subscriptions, graph/live/) are spoken by uvicorn's sans-I/O implementation on
the `websockets` library, named rather than left to uvicorn's `auto`, so an upgrade of uvicorn
does not change what each connection costs. permessage-deflate is off: each connection would
keep a zlib compressor and decompressor for its whole life, about 50 KB of an idle
subscriber's 114 KB (bench/subscriber_memory.py), to compress messages of a few hundred
bytes of JSON. A client offering it gets an uncompressed connection, as the protocol allows.
"""

from typing import Any, Final

WEBSOCKET_OPTIONS: Final[dict[str, Any]] = {
    "ws": "websockets-sansio",
    "ws_per_message_deflate": False,
}


def uvicorn_options() -> dict[str, Any]:
    """Keyword arguments of `uvicorn.run` or `uvicorn.Config`, beside the app and its address."""
    return {
        "loop": "uvloop",
        "http": "httptools",
        "access_log": False,
        **WEBSOCKET_OPTIONS,
    }


def uvicorn_arguments() -> list[str]:
    """The same options as arguments of `python -m uvicorn` (the benchmarks' servers)."""
    options = uvicorn_options()
    return [
        f"--loop={options['loop']}",
        f"--http={options['http']}",
        f"--ws={options['ws']}",
        f"--ws-per-message-deflate={str(options['ws_per_message_deflate']).lower()}",
        *([] if options["access_log"] else ["--no-access-log"]),
    ]
