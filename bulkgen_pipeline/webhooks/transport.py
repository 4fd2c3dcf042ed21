"""The HTTP client webhooks are sent with: no redirects, no proxies from the environment, a short
timeout, and (unless private addresses are allowed) connections only to public addresses.

The policy check before a delivery resolves the host once; the connection would resolve it
again, and a name can answer with a public address the first time and 127.0.0.1 the second
(DNS rebinding). So the connection itself resolves the host, checks every address with the same
rule, and connects to the checked address. TLS still verifies the certificate against the host
name, since httpcore hands the URL's host to the TLS layer, not the address dialled.
"""

from __future__ import annotations

import typing

import httpcore
import httpx

from bulkgen_pipeline.tls import shared_ssl_context
from bulkgen_pipeline.webhooks import policy

# The Standard Webhooks spec suggests 15-30 s; the sender waits for one receiver at a time per
# job, so a receiver that hangs must not hold the others up for long.
SEND_TIMEOUT_S = 10.0
REQUEST_TIMEOUT = httpx.Timeout(SEND_TIMEOUT_S, connect=5.0)
USER_AGENT = "bulkgen-webhooks/1"


class PublicOnlyBackend(httpcore.NetworkBackend):
    """Opens TCP connections only to hosts whose every address is public."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = policy.public_addresses(host, port)
        except policy.WebhookUrlRejected as exc:
            raise httpcore.ConnectError(f"refused to connect: {exc}") from None
        failure: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # public_addresses never returns an empty list
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks are not sent over Unix sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class PublicOnlyTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool that dials public addresses only."""

    def __init__(self) -> None:
        super().__init__(verify=shared_ssl_context())
        # httpx builds its pool without a way to pass a network backend; replace the pool (a
        # test sends through this transport, so a change in httpx shows up there).
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("this httpx version does not keep a ConnectionPool in _pool")
        self._pool.close()
        self._pool = httpcore.ConnectionPool(
            ssl_context=shared_ssl_context(),
            max_connections=20,
            keepalive_expiry=5.0,
            network_backend=PublicOnlyBackend(),
        )


def webhook_client(*, allow_private: bool) -> httpx.Client:
    """The client the sender uses; close it when done."""
    transport = (
        httpx.HTTPTransport(verify=shared_ssl_context()) if allow_private else PublicOnlyTransport()
    )
    return httpx.Client(
        transport=transport,
        timeout=REQUEST_TIMEOUT,
        follow_redirects=False,
        trust_env=False,  # no proxy from the environment: it would dial on our behalf, unchecked
        headers={"user-agent": USER_AGENT},
    )
