"""Where a webhook may POST. A webhook URL is user input the server then fetches, so in a
team's deployment it could reach the studio's own network (its database, a cloud metadata
address): only public addresses are allowed unless `webhook_private_targets` says
otherwise. The host is checked when the webhook is created and again before each attempt,
since what a name resolves to can change.

Before an attempt the host is resolved once and the connection goes to an address that was
checked (`pin`): letting the HTTP client resolve the name again would let a DNS-rebinding
server answer a public address to the check and a loopback one to the connection."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx


class TargetRefused(Exception):
    """The studio will not POST to this URL; the message says why."""


def resolve(host: str) -> list[str]:
    """Every address `host` resolves to, in the resolver's order of preference (none for a
    host that does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def _refusal(host: str, addresses: list[str], allowed: bool) -> str | None:
    """Why `host`, resolving to `addresses`, is no target, or None."""
    private = sorted(a for a in addresses if not ipaddress.ip_address(a).is_global)
    if allowed or not private:
        return None
    return (
        f"{host} resolves to a non-public address ({', '.join(private)}); "
        "an admin can allow such targets with MIND_WEBHOOK_PRIVATE_TARGETS=true"
    )


def refusal(url: str, allowed: bool) -> str | None:
    """Why the studio will not POST to `url`, or None (also for a host that does not resolve
    yet: the webhook may be set up before its DNS record)."""
    host = urlsplit(url).hostname or ""
    return _refusal(host, resolve(host), allowed)


@dataclass(frozen=True)
class Pinned:
    """A request whose connection goes to checked addresses while the receiver still sees its
    own name: `host` as the Host header and `sni_hostname` for TLS (SNI and the certificate
    check), so HTTPS receivers verify as they would without pinning."""

    urls: list[httpx.URL]  # the webhook's URL with each checked address as its host
    host: str
    sni_hostname: str

    @property
    def extensions(self) -> dict[str, str]:
        return {"sni_hostname": self.sni_hostname}


def pin(url: str, allowed: bool) -> Pinned:
    """Resolve `url`'s host once and check every address; TargetRefused if one is not
    allowed or none is found (connecting by name would resolve it again, unchecked)."""
    target = httpx.URL(url)
    name = target.raw_host.decode("ascii")
    addresses = resolve(name)
    if not addresses:
        raise TargetRefused(f"{target.host} does not resolve")
    problem = _refusal(target.host, addresses, allowed)
    if problem is not None:
        raise TargetRefused(problem)
    urls = [target.copy_with(host=address) for address in addresses]
    return Pinned(urls, target.netloc.decode("ascii"), name)
