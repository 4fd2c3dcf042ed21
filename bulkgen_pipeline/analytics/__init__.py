"""Cross-run analytics for the data team: generation facts, statistics, charts and the report.

Plain Python over pandas, pyarrow, scipy and matplotlib; no Dagster here. The assets in
`assets/analytics.py` and the `bulkgen analytics` commands are thin adapters over this package.
"""
