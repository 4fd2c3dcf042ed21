"""`bulkgen users …` and `bulkgen presets …`. Heavy imports (the db layer with SQLAlchemy too)
wait for the command needing them."""

from __future__ import annotations

import re

import click

from ..config import Settings
from ..domain.errors import InvalidInput, PresetValidationError
from .common import database, emit, fail, main, read_json


@main.group()
def users() -> None:
    """Manage users and their credits."""


@users.command("create")
@click.option("--name", required=True, help="1-200 printable characters")
@click.option("--credits", "credits_", type=int, required=True, help="0 to 2147483647")
def users_create(name: str, credits_: int) -> None:
    """Create a user; prints its id, its live API key and its test-mode key (`bgk_test_…`:
    runs on the preview renderer, charging nothing), each shown only this once."""
    from ..runs.users import create_user

    try:
        created = create_user(database(Settings.from_env()), name, credits_)
    except InvalidInput as exc:
        fail("invalid user", **exc.report())
    emit(
        {
            "user_id": created.user_id,
            "api_key": created.api_key,
            "test_api_key": created.test_api_key,
            "webhook_secret": created.webhook_secret,
            "credits": credits_,
        }
    )


@users.command("rotate-webhook-secret")
@click.option("--user", "user_id", required=True)
def users_rotate_webhook_secret(user_id: str) -> None:
    """Replace the user's webhook signing secret; prints the new one (shown only this once)."""
    from ..runs.queueing import NotFound
    from ..runs.webhook_secrets import rotate_webhook_secret

    try:
        secret = rotate_webhook_secret(database(Settings.from_env()), user_id)
    except NotFound as exc:
        fail(str(exc))
    emit({"user_id": user_id, "webhook_secret": secret})


@users.command("rotate-api-key")
@click.option("--user", "user_id", required=True)
@click.option(
    "--test",
    is_flag=True,
    help="Replace the test-mode key instead (a user made before test keys gets their first)",
)
def users_rotate_api_key(user_id: str, test: bool) -> None:
    """Replace the user's API key (or with --test their test-mode key) and sign them out of the
    console everywhere; prints the new key (shown only this once)."""
    from ..runs.api_keys import rotate_api_key
    from ..runs.queueing import NotFound

    try:
        api_key = rotate_api_key(database(Settings.from_env()), user_id, test=test)
    except NotFound as exc:
        fail(str(exc))
    emit({"user_id": user_id, "test_api_key" if test else "api_key": api_key})


@users.command("add-credits")
@click.option("--user", "user_id", required=True)
@click.option("--credits", "credits_", required=True, help="1 to 2147483647")
@click.option("--note", help="Why, for the ledger (shown to the merchant): up to 200 characters")
def users_add_credits(user_id: str, credits_: str, note: str | None) -> None:
    """Add credits to a user's balance (a grant in the credit ledger); prints the new balance."""
    from ..runs.credits import grant_credits
    from ..runs.queueing import NotFound

    try:
        credits = _whole_number(credits_)
        user = grant_credits(database(Settings.from_env()), user_id, credits, note=note)
    except InvalidInput as exc:
        fail("invalid credit grant", **exc.report())
    except NotFound as exc:
        fail(str(exc))
    emit(
        {
            "user_id": user.id,
            "granted": credits,
            "note": note,
            "credits_balance": user.credits_balance,
            "credits_reserved": user.credits_reserved,
            "credits_available": user.credits_available,
        }
    )


@users.command("set-limits")
@click.option("--user", "user_id", required=True)
@click.option(
    "--daily-images",
    required=True,
    help="The most images the merchant's runs may start a day (UTC), or 'none'",
)
def users_set_limits(user_id: str, daily_images: str) -> None:
    """Set the ceiling on a merchant's images a day; the merchant may set a lower limit of
    their own (PUT /api/me/limits, the console's account page). Prints their limits."""
    from ..runs.limits import set_daily_ceiling
    from ..runs.queueing import NotFound

    try:
        ceiling = None if daily_images.strip().lower() == "none" else _daily_images(daily_images)
        limits = set_daily_ceiling(database(Settings.from_env()), user_id, ceiling)
    except InvalidInput as exc:
        fail("invalid limit", **exc.report())
    except NotFound as exc:
        fail(str(exc))
    emit({"user_id": user_id, **limits.as_json()})


def _daily_images(text: str) -> int:
    if re.fullmatch(r"[0-9]{1,7}", text.strip()):
        return int(text)
    from ..domain.errors import FieldProblem
    from ..domain.limits import MAX_DAILY_IMAGES

    raise InvalidInput(
        [
            FieldProblem(
                "daily_images", f"must be a whole number from 0 to {MAX_DAILY_IMAGES} or none"
            )
        ]
    )


# At most as many digits as int() converts (sys.get_int_max_str_digits); longer is not a number
# anyone means, and int() would raise.
_DECIMAL_DIGITS = re.compile(r"-?[0-9]{1,4300}")


def _whole_number(text: str) -> int:
    """`text` as a number when it is written in decimal digits (Python's int() would also take
    "1_000", " 5 " and other scripts' digits), else InvalidInput in the credit rule's words.
    Taken as text, not as click's int, so that `--credits abc` is the command's JSON error
    rather than click's usage message."""
    if _DECIMAL_DIGITS.fullmatch(text):
        return int(text)
    from ..db.users import credits_problem

    problem = credits_problem(text)
    assert problem is not None
    raise InvalidInput([problem])


@users.command("list")
def users_list() -> None:
    """Every user with its credits (balance, reserved, available)."""
    from ..runs.listing import users as all_users

    emit(
        [
            {
                "user_id": user.id,
                "name": user.name,
                "credits_balance": user.credits_balance,
                "credits_reserved": user.credits_reserved,
                "credits_available": user.credits_available,
                "created_at": user.created_at.isoformat(),
            }
            for user in all_users(database(Settings.from_env()))
        ]
    )


@main.command("models")
def models() -> None:
    """The image models this deployment's providers offer (what config.model may name)."""
    from ..runs.models import model_catalogue

    emit(model_catalogue())


@main.group()
def presets() -> None:
    """Manage presets."""


@presets.command("create")
@click.option("--user", "user_id", required=True)
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), required=True)
def presets_create(user_id: str, path: str) -> None:
    """Validate a preset JSON file (canonical or flattened) and store it."""
    # Imported here: validation loads the category schema and pydantic models, which quick
    # commands like `bulkgen users list` should not pay for.
    from ..runs.presets import create_preset
    from ..runs.queueing import NotFound

    try:
        preset_id = create_preset(database(Settings.from_env()), user_id, read_json(path))
    except PresetValidationError as exc:
        fail("invalid preset", **exc.report())
    except NotFound as exc:
        fail(str(exc))
    emit({"preset_id": preset_id})


@presets.command("list")
@click.option("--user", "user_id", required=True)
def presets_list(user_id: str) -> None:
    """A user's presets, oldest first."""
    from ..runs.errors import NotFound
    from ..runs.listing import user_presets

    try:
        found = user_presets(database(Settings.from_env()), user_id)
    except NotFound as exc:
        fail(str(exc))
    emit(
        [
            {
                "preset_id": preset.id,
                "name": preset.name,
                "category": preset.category,
                "generation_count": preset.config.get("generation_count"),
                "created_at": preset.created_at.isoformat(),
                "updated_at": preset.updated_at.isoformat(),
            }
            for preset in found
        ]
    )
