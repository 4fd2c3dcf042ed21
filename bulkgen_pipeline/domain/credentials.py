"""What a webhook signing secret looks like, and how a new one is made (Standard Webhooks:
`whsec_` + the base64 of random bytes, the bytes being the HMAC key).

Here, below both of its users, rather than in webhooks/signing.py: the database makes a user's
first secret when it creates the user (db/users.py), webhooks/ signs with it, and webhooks/
sits above db/ (its sender reads the outbox).
"""

from __future__ import annotations

import base64
import secrets

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")
