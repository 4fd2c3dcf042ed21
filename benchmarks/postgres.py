"""A fresh PostgreSQL database on the local server (127.0.0.1, trust auth) for one benchmark."""

from __future__ import annotations

import secrets


def fresh_database(prefix: str = "bulkgen_bench") -> str:
    """Creates an empty database and returns its name."""
    import psycopg2

    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return name


def fresh_database_url(prefix: str = "bulkgen_bench") -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{fresh_database(prefix)}"
