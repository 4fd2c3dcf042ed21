"""`make demo`: one complete bulk run on the embedded default, then where the ZIP and report are.

Creates a demo user with credits, stores examples/professional_bags.json as a preset and runs it
with the local preview renderer (whatever provider credentials the shell has are ignored here).
The example ships inside the package (bulkgen_pipeline/examples/, which the checkout's examples/
links to), so `python -m bulkgen_pipeline.cli.demo` works from an installed package too.
"""

from __future__ import annotations

import json
import os
import sys
from importlib.resources import files

EXAMPLE = files("bulkgen_pipeline") / "examples" / "professional_bags.json"


def main() -> int:
    os.environ["BULKGEN_PROVIDERS"] = "local"
    from .. import db
    from ..analytics.publish import REPORT_KEY
    from ..config import Settings
    from ..domain.statuses import JobStatus
    from ..runs.presets import create_preset
    from ..runs.queueing import queue_preset_run
    from ..runs.users import create_user
    from ..storage import open_object_store
    from . import run_now, summary_of
    from .analytics import refresh_in_process

    settings = Settings.from_env()
    database = db.shared_database(settings.database_url)
    user = create_user(database, "Demo merchant", 100)
    preset_id = create_preset(database, user.user_id, json.loads(EXAMPLE.read_text()))
    run_id = queue_preset_run(database, user_id=user.user_id, preset_id=preset_id, claim=True)
    print(
        f"Running bulk run {run_id} for preset '{EXAMPLE.name}' ({settings.home})", file=sys.stderr
    )
    summary = summary_of(run_now(run_id, settings, database), settings)
    print(json.dumps(summary, indent=2))
    if summary["status"] != JobStatus.COMPLETED or not summary["zip"]:
        print(f"The demo run did not complete: {summary.get('error')}", file=sys.stderr)
        return 1
    print(f"\nZIP: {summary['zip']}")
    print(f"Analytics: {summary['analytics']}")
    # Without a daemon nothing else refreshes the cross-run facts and report: do it here.
    refresh_in_process(settings, with_report=True)
    print(f"Report: {open_object_store(settings.storage_url).location(REPORT_KEY)}")
    print(f"Watch it in the Dagster UI: BULKGEN_HOME={settings.home} .venv/bin/bulkgen dev")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
