"""The job views (a job, its items, its webhook deliveries) read with plain SQL.

Nothing here imports SQLAlchemy: the db layer runs these queries inside its sessions, and
`bulkgen status` runs the same queries straight through the DBAPI driver, which lets it answer
in a fraction of the time that importing SQLAlchemy alone takes.
"""

from bulkgen_pipeline.readmodel.queries import (
    Query,
    read_deliveries,
    read_items,
    read_job,
    read_jobs,
    user_exists,
)
from bulkgen_pipeline.readmodel.views import (
    AttemptView,
    DeliveryView,
    ItemView,
    JobView,
    iso,
    job_summary,
    utcnow,
)

__all__ = [
    "AttemptView",
    "DeliveryView",
    "ItemView",
    "JobView",
    "Query",
    "iso",
    "job_summary",
    "read_deliveries",
    "read_items",
    "read_job",
    "read_jobs",
    "user_exists",
    "utcnow",
]
