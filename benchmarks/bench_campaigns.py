"""A 200-item campaign on PostgreSQL: POST /api/campaigns through the whole app (in process:
HTTP parsing, the strict body, every item checked, one transaction reserving and queueing 200
runs), against the same 200 runs started one POST /api/bulk-generation/start at a time; then
the queue sensor's read of the queue with that backlog and another merchant's run behind it.

Goal (a ratio, so that the machine's speed cancels out): the campaign costs at most a quarter of
the 200 single starts (one request and transaction, one lock, one credits check). The sensor's
read must hand over 3 runs of each merchant, the one behind the backlog included.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ITEMS = 200
REPEATS = 3
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "professional_bags.json"


def run_campaign_benchmarks() -> list[dict[str, Any]]:
    from starlette.testclient import TestClient

    from benchmarks.postgres import fresh_database_url
    from bulkgen_pipeline import db
    from bulkgen_pipeline.config import Settings
    from bulkgen_pipeline.runs.scheduling import jobs_to_hand_over, queued_jobs
    from bulkgen_pipeline.web.app import create_app

    os.environ["BULKGEN_PROVIDERS"] = "local"
    home = Path(tempfile.mkdtemp(prefix="bulkgen-bench-campaigns-"))
    url = fresh_database_url("bulkgen_bench_campaigns").replace(
        "postgresql://", "postgresql+psycopg2://"
    )
    settings = Settings.from_env(
        {
            "BULKGEN_HOME": str(home),
            "BULKGEN_DATABASE_URL": url,
            "BULKGEN_STORAGE_URL": str(home / "storage"),
            "BULKGEN_MAX_ACTIVE_JOBS_PER_USER": "1000",
        }
    )
    database = db.Database(url)
    database.upgrade()
    config = {**json.loads(EXAMPLE.read_text())["config"], "generation_count": 1}
    campaign_s, singles_s = [], []
    with TestClient(create_app(settings)) as app:

        def merchant() -> tuple[str, dict[str, str], list[str]]:
            with database.session() as session:
                made = db.create_user(session, "Bench shop", 10 * ITEMS)
            headers = {"Authorization": f"Bearer {made.api_key}"}
            with database.session() as session:  # a catalogue: one preset per product
                ids = [
                    db.save_preset(session, made.user_id, f"Product {i}", "bags", config)
                    for i in range(ITEMS)
                ]
            return made.user_id, headers, ids

        for _ in range(REPEATS):
            _user, headers, ids = merchant()
            body = {"name": "Bench", "items": [{"preset_id": p} for p in ids]}
            began = time.perf_counter()
            answer = app.post("/api/campaigns", json=body, headers=headers)
            campaign_s.append(time.perf_counter() - began)
            assert answer.status_code == 202, answer.text
            assert len(answer.json()["job_ids"]) == ITEMS

            _user, headers, ids = merchant()
            began = time.perf_counter()
            for preset_id in ids:
                started = app.post(
                    "/api/bulk-generation/start", json={"preset_id": preset_id}, headers=headers
                )
                assert started.status_code == 202, started.text
            singles_s.append(time.perf_counter() - began)

        # The sensor's read: the backlog (every campaign above, queued) and one merchant behind.
        _other, headers, ids = merchant()
        app.post("/api/bulk-generation/start", json={"preset_id": ids[0]}, headers=headers)
        reads = []
        for _ in range(7):
            began = time.perf_counter()
            queued = queued_jobs(database, limit=100, per_merchant=3)
            reads.append(time.perf_counter() - began)
        handed = jobs_to_hand_over(queued, {}, 3)
        merchants = {job.user_id for job in handed}
        each = {user: sum(job.user_id == user for job in handed) for user in merchants}
        assert each.pop(_other) == 1 and set(each.values()) == {3}, each
    database.dispose()
    campaign, singles = statistics.median(campaign_s), statistics.median(singles_s)
    return [
        {
            "measure": f"POST /api/campaigns, {ITEMS} items (median of {REPEATS})",
            "s": campaign,
            "per run ms": 1000 * campaign / ITEMS,
            "goal": "≤ 0.25 × the singles",
            "ratio": campaign / singles,
        },
        {
            "measure": f"{ITEMS} × POST /api/bulk-generation/start, one after another",
            "s": singles,
            "per run ms": 1000 * singles / ITEMS,
            "goal": "",
            "ratio": 1.0,
        },
        {
            "measure": f"queue sensor's read, {len(merchants)} merchants, "
            f"{(2 * REPEATS) * ITEMS + 1} runs queued",
            "s": statistics.median(reads),
            "per run ms": "",
            "goal": f"hands over 3 each ({len(handed)})",
            "ratio": "",
        },
    ]


if __name__ == "__main__":
    from benchmarks.table import print_table

    print_table("Campaigns: a 200-item campaign on PostgreSQL", run_campaign_benchmarks())
