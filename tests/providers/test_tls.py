"""Every HTTPS client of the process shares one TLS context: building a provider or a webhook
client loads no CA bundle (~25 ms of CPU each time it did)."""

from __future__ import annotations

import ssl

import pytest

from bulkgen_pipeline.providers.google_provider import GoogleProvider
from bulkgen_pipeline.providers.replicate_provider import ReplicateProvider
from bulkgen_pipeline.tls import shared_ssl_context
from bulkgen_pipeline.webhooks.transport import webhook_client


@pytest.fixture
def contexts_made(monkeypatch: pytest.MonkeyPatch) -> list[ssl.SSLContext]:
    """The TLS contexts made from here on (httpx, the Google SDK and certifi's users all make
    theirs with `ssl.create_default_context`)."""
    shared_ssl_context()  # made once per process, before the count starts
    made: list[ssl.SSLContext] = []
    original = ssl.create_default_context

    def counting(*args, **kwargs) -> ssl.SSLContext:
        made.append(original(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(ssl, "create_default_context", counting)
    return made


def test_providers_and_webhook_clients_make_no_tls_context_of_their_own(contexts_made) -> None:
    for _ in range(3):
        ReplicateProvider("r8_token", base_url="http://127.0.0.1:9")
        GoogleProvider("g-key", base_url="http://127.0.0.1:9")
        for allow_private in (True, False):
            webhook_client(allow_private=allow_private).close()
    assert contexts_made == []


def test_the_shared_context_verifies_certificates_and_host_names() -> None:
    context = shared_ssl_context()
    assert context is shared_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert context.cert_store_stats()["x509_ca"] > 0  # certifi's bundle is loaded
