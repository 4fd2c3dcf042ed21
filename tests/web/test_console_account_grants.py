"""Credits an operator granted (`bulkgen users add-credits`) on the merchant's account page,
with the note saying why."""

from __future__ import annotations

import re

from bulkgen_pipeline.runs.credits import grant_credits

from .conftest import sign_in


def test_the_account_page_shows_a_grant_with_its_note(sqlite_console):
    shop = sign_in(sqlite_console, credits=50)
    grant_credits(sqlite_console.database, shop.user_id, 20, note="Invoice <42> paid")

    page = shop.client.get("/account").text
    assert '<dd id="balance">70</dd>' in page
    ledger = page[page.index('<table id="ledger">') :]
    rows = re.findall(r"<tr><td>.*?</td><td>(.*?)</td><td class=\"num\">([^<]+)</td>", ledger)
    assert [(re.sub(r"<[^>]+>", "", movement), amount) for movement, amount in rows] == [
        ("grant: Invoice &lt;42&gt; paid", "+20"),  # the merchant's text, escaped
        ("grant", "+50"),
    ]
