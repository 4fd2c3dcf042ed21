from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from bulkgen_pipeline import db as dbm
from bulkgen_pipeline.db.users import list_users


def test_create_user_stores_only_the_key_hash(db):
    with db.session() as s:
        created = dbm.create_user(s, "alice", 25)
    assert created.api_key and len(created.api_key) > 30
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT api_key_hash, credits_balance FROM users WHERE id = :i"),
            {"i": created.user_id},
        ).one()
    assert row.api_key_hash == hashlib.sha256(created.api_key.encode()).hexdigest()
    assert created.api_key not in row.api_key_hash
    assert row.credits_balance == 25


def test_get_user_and_find_by_api_key(db):
    with db.session() as s:
        a = dbm.create_user(s, "alice", 7)
        b = dbm.create_user(s, "bob", 0)
    assert a.api_key != b.api_key
    with db.session() as s:
        view = dbm.get_user(s, a.user_id)
        assert view is not None
        assert (view.credits_balance, view.credits_reserved, view.credits_available) == (7, 0, 7)
        assert view.available == 7 and view.name == "alice"
        assert dbm.find_user_by_api_key(s, a.api_key).id == a.user_id
        assert dbm.find_user_by_api_key(s, b.api_key).id == b.user_id
        assert dbm.find_user_by_api_key(s, "nope") is None
        assert dbm.find_user_by_api_key(s, "") is None
        assert dbm.get_user(s, "missing") is None


def test_create_user_rejects_bad_input(db):
    with db.session() as s, pytest.raises(ValueError):
        dbm.create_user(s, "x", -1)
    with db.session() as s, pytest.raises(ValueError):
        dbm.create_user(s, "  ", 1)


def test_add_credits_is_ledgered(db, books_ok):
    with db.session() as s:
        a = dbm.create_user(s, "alice", 5)
    with db.session() as s:
        view = dbm.add_credits(s, a.user_id, 10)
    assert view.credits_balance == 15
    with db.session() as s:
        kinds = [(e.kind, e.amount) for e in dbm.ledger_entries(s, user_id=a.user_id)]
    assert kinds == [("grant", 5), ("grant", 10)]
    books_ok()
    with db.session() as s, pytest.raises(dbm.UnknownUser):
        dbm.add_credits(s, "missing", 1)


def test_presets_roundtrip_and_update(db):
    config = {"type": "__RANDOM__", "dimensions": {"width": 1024, "height": 768}, "seed": 42}
    with db.session() as s:
        a = dbm.create_user(s, "alice", 1)
        pid = dbm.save_preset(s, a.user_id, "Bags", "bags", config)
    config["seed"] = 0  # the stored copy is independent of the caller's dict
    with db.session() as s:
        p = dbm.get_preset(s, pid)
    assert p is not None
    assert (p.id, p.user_id, p.name, p.category) == (pid, a.user_id, "Bags", "bags")
    assert p.config == {
        "type": "__RANDOM__",
        "dimensions": {"width": 1024, "height": 768},
        "seed": 42,
    }
    with db.session() as s:
        updated = dbm.update_preset(s, pid, name="Bags v2", config={"type": "tote"})
    assert updated.name == "Bags v2" and updated.config == {"type": "tote"}
    assert updated.updated_at >= p.updated_at
    with db.session() as s:
        assert dbm.get_preset(s, pid).config == {"type": "tote"}
        assert [x.id for x in dbm.list_presets(s, a.user_id)] == [pid]
        assert dbm.get_preset(s, "missing") is None
        with pytest.raises(dbm.UnknownPreset):
            dbm.update_preset(s, "missing", name="x")


def test_save_preset_unknown_user(db):
    with db.session() as s, pytest.raises(dbm.UnknownUser):
        dbm.save_preset(s, "missing", "x", "bags", {})


# --- strict input: the same rules on SQLite and PostgreSQL -----------------------------------


def test_credits_fit_the_integer_column_on_both_databases(db, books_ok):
    from bulkgen_pipeline.db.users import MAX_CREDITS
    from bulkgen_pipeline.domain.errors import InvalidInput

    with db.session() as s:
        rich = dbm.create_user(s, "rich", MAX_CREDITS)
    with db.session() as s:
        assert dbm.get_user(s, rich.user_id).credits_balance == MAX_CREDITS
    for too_many in (MAX_CREDITS + 1, 2**63, -1, True, 5.0):
        with db.session() as s, pytest.raises(InvalidInput) as info:
            dbm.create_user(s, "greedy", too_many)
        assert info.value.problems[0].field == "credits"
    with db.session() as s, pytest.raises(InvalidInput) as info:
        dbm.add_credits(s, rich.user_id, 1)
    assert "past the limit" in info.value.problems[0].message
    with db.session() as s:
        assert dbm.get_user(s, rich.user_id).credits_balance == MAX_CREDITS
        assert [u.name for u in list_users(s)] == ["rich"]
    books_ok()


@pytest.mark.parametrize("name", ["", "   ", "x" * 5000, "shop\x00", "shop\x07", 42], ids=repr)
def test_bad_user_names_are_refused_before_the_database(db, name):
    from bulkgen_pipeline.domain.errors import InvalidInput

    with db.session() as s, pytest.raises(InvalidInput) as info:
        dbm.create_user(s, name, 1)
    assert info.value.problems[0].field == "name"
    with db.session() as s:
        assert list_users(s) == []


def test_a_200_character_unicode_name_round_trips(db):
    name = "Ünïcødé Bäg Shop – " + "ß" * 181
    assert len(name) == 200
    with db.session() as s:
        created = dbm.create_user(s, name, 0)
    with db.session() as s:
        assert dbm.get_user(s, created.user_id).name == name


def test_presets_are_validated_strictly_before_storage(db):
    import json
    from pathlib import Path

    from bulkgen_pipeline.domain.errors import PresetValidationError
    from bulkgen_pipeline.runs.presets import create_preset

    with db.session() as s:
        user = dbm.create_user(s, "alice", 10)
    base = json.loads(
        (Path(__file__).resolve().parents[2] / "examples" / "professional_bags.json").read_text()
    )
    bad_configs = {
        "config.color_weights.0": {
            "color_palette": ["#FF0000", "#000000"],
            "color_weights": [float("nan"), 1],
        },
        "config.generation_count": {"generation_count": True},
        "config.use_model": {"use_model": "false"},
        "config.negative_prompt": {"negative_prompt": "no\x00nul"},
    }
    for field, config in bad_configs.items():
        data = {**base, "config": {**base["config"], **config}}
        with pytest.raises(PresetValidationError) as info:
            create_preset(db, user.user_id, data)
        assert field in {p.field for p in info.value.problems}
    for name in ("x" * 5000, "bags\x00"):
        with pytest.raises(PresetValidationError) as info:
            create_preset(db, user.user_id, {**base, "name": name})
        assert {p.field for p in info.value.problems} == {"name"}
    with db.session() as s:
        assert dbm.list_presets(s, user.user_id) == []
    weighted = {"color_palette": ["#FF0000", "#000000"], "color_weights": [1, 2.5]}
    preset_id = create_preset(db, user.user_id, {**base, "config": {**base["config"], **weighted}})
    with db.session() as s:
        stored = dbm.get_preset(s, preset_id).config
    assert stored["color_weights"] == [1.0, 2.5]
    assert type(stored["generation_count"]) is int
