"""Where a webhook may POST. A webhook URL is user input the server then fetches, so in a
team's deployment it could reach the studio's own network (its database, a cloud metadata
address): only public addresses are allowed unless `webhook_private_targets` says
otherwise. The host is checked when the webhook is created and again before each attempt,
since what a name resolves to can change."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def non_public_addresses(url: str) -> list[str]:
    """The loopback, private, link-local or reserved addresses `url`'s host resolves to
    (none for a host that does not resolve: its delivery fails on its own)."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    found = {str(info[4][0]).split("%", 1)[0] for info in infos}
    return sorted(a for a in found if not ipaddress.ip_address(a).is_global)


def refusal(url: str, allowed: bool) -> str | None:
    """Why the studio will not POST to `url`, or None."""
    if allowed:
        return None
    private = non_public_addresses(url)
    if not private:
        return None
    return (
        f"{urlsplit(url).hostname} resolves to a non-public address ({', '.join(private)}); "
        "an admin can allow such targets with MIND_WEBHOOK_PRIVATE_TARGETS=true"
    )
