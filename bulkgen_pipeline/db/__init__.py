"""The application database (SQLAlchemy 2.0 + Alembic): users and credits, presets, the job
queue, per-generation items, settlement. No Dagster here; resources/database.py wraps it.

Every repository function takes a `Session`; the caller's ``with db.session() as s:`` block is
the transaction.
"""

from bulkgen_pipeline.db.engine import (
    Database,
    PoolSize,
    dispose_shared_databases,
    is_unreachable,
    query_of,
    shared_database,
)
from bulkgen_pipeline.db.errors import (
    DatabaseError,
    InsufficientCredits,
    JobAlreadyExists,
    UnknownJob,
    UnknownPreset,
    UnknownUser,
)
from bulkgen_pipeline.db.events import EventView, events_after
from bulkgen_pipeline.db.items import ItemView, list_items, record_item, refresh_progress
from bulkgen_pipeline.db.jobs import (
    JobRow,
    JobView,
    RunPage,
    active_job_count,
    get_job,
    item_counts,
    job_status_dict,
    job_summary,
    jobs_after,
    list_user_jobs,
    mark_job_deleted,
    queue_bulk_job,
    queued_jobs,
    run_folder,
)
from bulkgen_pipeline.db.leases import renew_lease, stranded_jobs
from bulkgen_pipeline.db.ledger import LedgerEntry, credit_invariant_violations, ledger_entries
from bulkgen_pipeline.db.models import ALL_TABLES
from bulkgen_pipeline.db.presets import (
    PresetView,
    delete_preset,
    get_preset,
    list_presets,
    save_preset,
    update_preset,
)
from bulkgen_pipeline.db.settlement import (
    NO_IMAGES_ERROR,
    ImgHistoryView,
    SettledImage,
    SettlementResult,
    list_img_history,
    settle_run,
)
from bulkgen_pipeline.db.transitions import (
    NothingToRetry,
    fail_job,
    is_cancel_requested,
    is_stopped,
    mark_cancelled,
    mark_job_processing,
    request_cancel,
    requeue_failed,
    resume_stranded,
)
from bulkgen_pipeline.db.users import (
    CreatedUser,
    UserView,
    add_credits,
    create_user,
    find_user_by_api_key,
    get_user,
    hash_api_key,
)

__all__ = [
    "ALL_TABLES",
    "NO_IMAGES_ERROR",
    "CreatedUser",
    "Database",
    "PoolSize",
    "DatabaseError",
    "EventView",
    "NothingToRetry",
    "ImgHistoryView",
    "InsufficientCredits",
    "ItemView",
    "JobAlreadyExists",
    "JobRow",
    "JobView",
    "LedgerEntry",
    "PresetView",
    "SettledImage",
    "SettlementResult",
    "UnknownJob",
    "UnknownPreset",
    "UnknownUser",
    "UserView",
    "add_credits",
    "create_user",
    "RunPage",
    "list_user_jobs",
    "mark_job_deleted",
    "delete_preset",
    "active_job_count",
    "credit_invariant_violations",
    "dispose_shared_databases",
    "events_after",
    "fail_job",
    "find_user_by_api_key",
    "get_job",
    "get_preset",
    "get_user",
    "hash_api_key",
    "is_unreachable",
    "is_cancel_requested",
    "is_stopped",
    "item_counts",
    "job_status_dict",
    "job_summary",
    "jobs_after",
    "ledger_entries",
    "list_img_history",
    "list_items",
    "list_presets",
    "mark_cancelled",
    "mark_job_processing",
    "query_of",
    "queue_bulk_job",
    "queued_jobs",
    "record_item",
    "refresh_progress",
    "request_cancel",
    "renew_lease",
    "resume_stranded",
    "stranded_jobs",
    "requeue_failed",
    "run_folder",
    "save_preset",
    "settle_run",
    "shared_database",
    "update_preset",
]
