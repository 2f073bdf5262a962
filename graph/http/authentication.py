"""Where a request comes from: its client's address."""

import ipaddress


def client_ip(host: str | None) -> str | None:
    """The client's address if it is an IP address (the audit trail stores it as `inet`)."""
    if host is None:
        return None
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None
