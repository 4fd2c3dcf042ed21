"""The sender's HTTP client: it connects to the address it checked (so a name that turns private
between the check and the connection is refused), and ignores proxies from the environment."""

from __future__ import annotations

import ipaddress

from bulkgen_pipeline.db.webhooks import list_deliveries
from bulkgen_pipeline.webhooks import policy
from bulkgen_pipeline.webhooks.delivery import deliver_due
from bulkgen_pipeline.webhooks.transport import webhook_client

from .conftest import cancel, queue_job


def test_the_strict_client_dials_the_address_it_checked(receiver, monkeypatch):
    """`hooks.shop.example` exists only in the patched resolver: reaching the receiver proves
    the connection went to the checked address rather than asking DNS again."""
    monkeypatch.setattr(
        policy, "resolve_addresses", lambda host, port: [ipaddress.ip_address("127.0.0.1")]
    )
    monkeypatch.setattr(policy, "is_public", lambda address: True)  # stands in for a public IP
    port = receiver.url.split(":")[2].split("/")[0]
    with webhook_client(allow_private=False) as client:
        response = client.post(f"http://hooks.shop.example:{port}/hooks/bulkgen", content=b"{}")
    assert response.status_code == 401  # reached; no secret, so the receiver refuses it
    [got] = receiver.received
    assert got.headers["host"] == f"hooks.shop.example:{port}"
    assert got.headers["user-agent"] == "bulkgen-webhooks/1"


def test_dns_rebinding_between_the_check_and_the_connection_is_refused(
    db, merchant, receiver, monkeypatch
):
    answers = iter([["93.184.215.14"], ["93.184.215.14"], ["127.0.0.1"]])
    resolved: list[str] = []

    def rebinding(host: str, port: int):
        resolved.append(host)
        return [ipaddress.ip_address(a) for a in next(answers)]

    monkeypatch.setattr(policy, "resolve_addresses", rebinding)
    port = receiver.url.split(":")[2].split("/")[0]
    url = f"https://hooks.shop.example:{port}/hooks/bulkgen"
    run_id = queue_job(db, merchant, url, allow_private=False)  # check 1: public
    cancel(db, run_id)
    with webhook_client(allow_private=False) as client:
        # check 2 (before sending): public; the connection resolves again: 127.0.0.1
        assert deliver_due(db, allow_private=False, client=client) == 1
    assert resolved == ["hooks.shop.example"] * 3
    with db.session(readonly=True) as session:
        [delivery] = list_deliveries(session, run_id)
    assert delivery.status == "pending"
    assert delivery.last_error.startswith("could not connect: refused to connect: host")
    assert "127.0.0.1" in delivery.last_error
    assert receiver.received == []


def test_proxies_from_the_environment_are_ignored(receiver, monkeypatch):
    # A proxy would make the request on our behalf, to an address nobody checked.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with webhook_client(allow_private=True) as client:
        response = client.post(receiver.url, content=b"{}")
    assert response.status_code == 401 and len(receiver.received) == 1
