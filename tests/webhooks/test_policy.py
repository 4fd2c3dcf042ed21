"""Which addresses may receive webhooks: public https only, unless private ones are allowed."""

from __future__ import annotations

import ipaddress

import pytest

from bulkgen_pipeline.webhooks import policy
from bulkgen_pipeline.webhooks.policy import WebhookUrlRejected, check_webhook_url

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"

# Literal addresses and spellings the system resolver turns into non-public addresses.
NON_PUBLIC_URLS = [
    "https://127.0.0.1/hook",
    "https://127.1/hook",  # short form of 127.0.0.1
    "https://2130706433/hook",  # decimal 127.0.0.1
    "https://0x7f.0.0.1/hook",  # hexadecimal
    "https://localhost/hook",
    "https://10.1.2.3/hook",
    "https://172.16.0.9/hook",
    "https://192.168.1.1/hook",
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "https://100.64.0.1/hook",  # carrier-grade NAT
    "https://0.0.0.0/hook",
    "https://0/hook",  # 0.0.0.0
    "https://224.0.0.1/hook",  # multicast
    "https://255.255.255.255/hook",
    "https://[::1]/hook",
    "https://[::]/hook",
    "https://[fe80::1]/hook",  # link-local
    "https://[fc00::1]/hook",  # unique local
    "https://[fd00:ec2::254]/hook",  # AWS metadata over IPv6
    "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
    "https://[::ffff:169.254.169.254]/hook",
    "https://[::ffff:a00:1]/hook",  # IPv4-mapped 10.0.0.1, hex form
    "https://[::127.0.0.1]/hook",  # IPv4-compatible (deprecated)
    "https://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
    "https://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    "https://[2002:a00:1::1]/hook",  # 6to4 of 10.0.0.1
    "https://[2001:db8::1]/hook",  # documentation
]


@pytest.mark.parametrize("url", NON_PUBLIC_URLS)
def test_non_public_addresses_are_refused_by_default_and_allowed_with_the_flag(url):
    with pytest.raises(WebhookUrlRejected, match="non-public address"):
        check_webhook_url(url, allow_private=False)
    assert check_webhook_url(url, allow_private=True) == url


@pytest.fixture
def fake_dns(monkeypatch):
    """Names resolve through a table (the tests do not need the network)."""
    table: dict[str, list[str]] = {}

    def resolve(host: str, port: int):
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        if host not in table:
            raise OSError("name not known")
        return [ipaddress.ip_address(a) for a in table[host]]

    monkeypatch.setattr(policy, "resolve_addresses", resolve)
    return table


def test_an_octal_dotted_address_is_not_a_url_at_all():
    # httpx, which sends the request, refuses it; so does the policy, whatever the flag.
    for allow_private in (False, True):
        with pytest.raises(WebhookUrlRejected, match="not a valid URL"):
            check_webhook_url("https://0177.0.0.1/hook", allow_private=allow_private)


def test_a_public_https_host_is_allowed(fake_dns):
    fake_dns["hooks.shop.example"] = [PUBLIC_V4, PUBLIC_V6]
    url = "https://hooks.shop.example/bulkgen?source=api"
    assert check_webhook_url(url, allow_private=False) == url
    assert check_webhook_url(f"https://{PUBLIC_V4}:8443/x", allow_private=False)
    assert check_webhook_url(f"https://[{PUBLIC_V6}]/x", allow_private=False)


@pytest.mark.parametrize(
    "addresses",
    [["10.0.0.7"], [PUBLIC_V4, "127.0.0.1"], ["::ffff:192.168.0.1"], [PUBLIC_V6, "fe80::1"]],
)
def test_a_name_with_any_non_public_address_is_refused(fake_dns, addresses):
    # A connection may try any of the addresses, so one private address is enough to refuse.
    fake_dns["hooks.shop.example"] = addresses
    with pytest.raises(WebhookUrlRejected, match="non-public address"):
        check_webhook_url("https://hooks.shop.example/x", allow_private=False)


def test_a_name_that_does_not_resolve_is_refused(fake_dns):
    with pytest.raises(WebhookUrlRejected, match="does not resolve"):
        check_webhook_url("https://nowhere.example/x", allow_private=False)


@pytest.mark.parametrize(
    "url, message",
    [
        (f"http://{PUBLIC_V4}/hook", "must use https"),
        ("ftp://hooks.shop.example/hook", "must use https"),
        ("file:///etc/passwd", "must use https"),
        ("https:///hook", "has no host"),
        ("https://user:pw@hooks.shop.example/hook", "credentials"),
        ("https://hooks.shop.example\t@127.0.0.1/", "control characters"),
        ("https://hooks.shop.example /x", "spaces"),
        ("https://hooks.shop.example/\x00", "control characters"),
        ("https://[::1/hook", "not a valid URL"),
        ("https://" + "a" * 2050, "at most 2048"),
        ("", "at most 2048"),
    ],
)
def test_malformed_or_plain_http_urls_are_refused(fake_dns, url, message):
    fake_dns["hooks.shop.example"] = [PUBLIC_V4]
    with pytest.raises(WebhookUrlRejected, match=message):
        check_webhook_url(url, allow_private=False)


def test_plain_http_and_private_hosts_pass_when_private_addresses_are_allowed():
    assert check_webhook_url("http://127.0.0.1:9000/hook", allow_private=True)
    with pytest.raises(WebhookUrlRejected, match="must use https"):
        check_webhook_url("ftp://127.0.0.1/hook", allow_private=True)
    with pytest.raises(WebhookUrlRejected, match="credentials"):
        check_webhook_url("http://u:p@127.0.0.1/hook", allow_private=True)


def test_the_refusal_names_the_problem_not_the_query_string(fake_dns):
    fake_dns["hooks.shop.example"] = ["10.0.0.7"]
    with pytest.raises(WebhookUrlRejected) as caught:
        check_webhook_url("https://hooks.shop.example/x?token=s3cr3t", allow_private=False)
    assert "10.0.0.7" in str(caught.value) and "s3cr3t" not in str(caught.value)
