"""Run-level use cases shared by the assets, the CLI and the API.

Queueing, generation, packaging and the object-store layout of a run.
"""
