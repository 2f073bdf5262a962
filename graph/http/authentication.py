"""Where a request comes from: its client's address."""

import ipaddress
from functools import lru_cache


# A worker sees the same few addresses again and again (a proxy's, its clients'); parsing
# one was about 2 % of a small read's CPU.
@lru_cache(maxsize=1024)
def client_ip(host: str | None) -> str | None:
    """The client's address if it is an IP address (the audit trail stores it as `inet`)."""
    if host is None:
        return None
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None
