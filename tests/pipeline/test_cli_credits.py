"""`bulkgen users add-credits`: an operator tops up a merchant's credits, through click's runner
against a real database, as the other CLI tests."""

from __future__ import annotations

import pytest

from bulkgen_pipeline import db
from bulkgen_pipeline.db.users import MAX_CREDITS
from tests.cli_support import bulkgen


def app_database(home) -> db.Database:
    return db.shared_database(f"sqlite:///{home / 'bulkgen.db'}")


def merchant(credits: int = 5) -> str:
    code, user = bulkgen("users", "create", "--name", "Shop", "--credits", str(credits))
    assert code == 0
    return user["user_id"]


def test_a_grant_adds_to_the_balance_and_is_booked_with_its_note(home):
    user_id = merchant(credits=5)
    code, granted = bulkgen(
        "users", "add-credits", "--user", user_id, "--credits", "20", "--note", "invoice 42"
    )
    assert code == 0
    assert granted == {
        "user_id": user_id,
        "granted": 20,
        "note": "invoice 42",
        "credits_balance": 25,
        "credits_reserved": 0,
        "credits_available": 25,
    }
    code, without_note = bulkgen("users", "add-credits", "--user", user_id, "--credits", "1")
    assert (code, without_note["note"], without_note["credits_balance"]) == (0, None, 26)

    code, users = bulkgen("users", "list")
    assert [u["credits_available"] for u in users] == [26]
    with app_database(home).session() as session:
        entries = db.ledger_entries(session, user_id=user_id)
        assert [(e.kind, e.amount, e.note) for e in entries] == [
            ("grant", 5, None),
            ("grant", 20, "invoice 42"),
            ("grant", 1, None),
        ]
        assert db.credit_invariant_violations(session) == []


@pytest.mark.parametrize(
    ("credits", "says"),
    [
        ("0", "must be between 1 and"),
        ("-3", "must be between 1 and"),
        ("abc", "must be an integer"),
        ("2.5", "must be an integer"),
        ("1e3", "must be an integer"),
        (str(MAX_CREDITS + 1), "must be between 1 and"),
        ("9" * 40, "must be between 1 and"),
    ],
)
def test_a_credit_amount_that_is_not_a_positive_whole_number_is_refused(home, credits, says):
    user_id = merchant(credits=5)
    code, answer = bulkgen("users", "add-credits", "--user", user_id, "--credits", credits)
    assert code == 1 and answer["error"] == "invalid credit grant"
    [problem] = answer["problems"]
    assert problem["field"] == "credits" and says in problem["message"], problem
    code, users = bulkgen("users", "list")
    assert users[0]["credits_balance"] == 5


def test_a_grant_may_not_push_the_balance_past_what_the_database_holds(home):
    user_id = merchant(credits=MAX_CREDITS - 10)
    code, answer = bulkgen("users", "add-credits", "--user", user_id, "--credits", "11")
    assert code == 1
    assert [p["field"] for p in answer["problems"]] == ["credits"]
    assert "past the limit" in answer["problems"][0]["message"]
    code, granted = bulkgen("users", "add-credits", "--user", user_id, "--credits", "10")
    assert (code, granted["credits_balance"]) == (0, MAX_CREDITS)


@pytest.mark.parametrize("note", ["", "x" * 201, "line\nbreak", "nul\x00"], ids=repr)
def test_a_note_that_is_not_one_line_of_text_is_refused(home, note):
    user_id = merchant(credits=5)
    code, answer = bulkgen(
        "users", "add-credits", "--user", user_id, "--credits", "1", "--note", note
    )
    assert code == 1 and [p["field"] for p in answer["problems"]] == ["note"]


def test_credits_for_an_unknown_user_are_refused(home):
    code, answer = bulkgen("users", "add-credits", "--user", "nobody", "--credits", "5")
    assert (code, answer) == (1, {"error": "user 'nobody' does not exist"})
