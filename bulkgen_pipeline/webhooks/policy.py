"""Which webhook addresses bulkgen will call.

Only https, and only public addresses: a webhook must never become a way to make the server
call its own network (loopback, link-local, private ranges, cloud metadata at 169.254.169.254).
`BULKGEN_WEBHOOK_ALLOW_PRIVATE=true` lifts both rules for local development and tests. The
address is checked when the job is queued and again before every delivery, since DNS can
change in between; the sender's connections (`transport.py`) check the very address they
connect to as well, so a name that changes between the check and the connection is caught too.

A host is judged by what the system resolver makes of it, the resolver the connection uses:
decimal, octal and hexadecimal spellings of an IPv4 address (2130706433, 0177.0.0.1, 0x7f.1)
resolve to the address they stand for and are judged as that. IPv6 addresses that carry an
IPv4 address (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by
the IPv4 address inside.
"""

from __future__ import annotations

import ipaddress
import socket

MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class WebhookUrlRejected(ValueError):
    """The URL may not receive webhooks; the message says why (never anything secret)."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """True for a globally routable unicast address, the only kind a webhook may go to."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            return is_public(inner)
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


def resolve_addresses(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for `host` (what a connection would try)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def public_addresses(host: str, port: int) -> list[IPAddress]:
    """The resolved addresses of `host`, all public; raises WebhookUrlRejected otherwise.

    One non-public address refuses the host: a resolver may hand out the addresses in any
    order, and a connection may try any of them."""
    try:
        addresses = resolve_addresses(host, port)
    except (OSError, UnicodeError, ValueError):
        raise WebhookUrlRejected(f"host {host!r} does not resolve") from None
    blocked = [str(a) for a in addresses if not is_public(a)]
    if blocked or not addresses:
        raise WebhookUrlRejected(
            f"host {host!r} resolves to a loopback, link-local, private or otherwise "
            f"non-public address ({', '.join(blocked) or 'none'}); webhooks go to public "
            "addresses only"
        )
    return addresses


def check_webhook_url(url: str, *, allow_private: bool) -> str:
    """Return the URL if bulkgen may POST to it now; raise WebhookUrlRejected otherwise."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise WebhookUrlRejected(f"must be a URL of at most {MAX_URL_LENGTH} characters")
    if not url.isprintable() or any(c.isspace() for c in url):
        # Parsers disagree on what to strip; refuse instead of guessing which host is meant.
        raise WebhookUrlRejected("must not contain spaces or control characters")
    # Imported here: httpx loads pygments for its command line (0.13 s), which every `bulkgen`
    # command that queues a run would pay, though only the webhook sender uses the client.
    import httpx

    try:
        # The parser of the client that will send the request, so both agree on the host.
        parts = httpx.URL(url)
        port = parts.port
    except (httpx.InvalidURL, ValueError) as exc:
        raise WebhookUrlRejected(f"is not a valid URL ({exc})") from None
    allowed_schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed_schemes:
        raise WebhookUrlRejected("must use https")
    if not parts.host:
        raise WebhookUrlRejected("has no host")
    if parts.userinfo:
        raise WebhookUrlRejected("must not carry credentials")
    if allow_private:
        return url
    public_addresses(parts.raw_host.decode("ascii"), port or 443)  # IDNA-encoded, as dialled
    return url
