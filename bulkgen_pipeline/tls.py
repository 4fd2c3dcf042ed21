"""One TLS context for every HTTPS client of the process (providers, webhooks).

httpx builds a new `ssl.SSLContext` for each client or transport it is not handed one, and
loading certifi's CA bundle into it costs ~25 ms of CPU: each process paid it for every
provider it built (the Google SDK three times) and every webhook sender, and the test suite for
every provider and client its tests build. A context is meant to be shared by many connections,
across threads, so one is built on first use and handed to all of them. The settings are
httpx's defaults: certifi's CAs, hostname checks, TLS 1.2 at least.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
