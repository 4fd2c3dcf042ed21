"""The HTTP API (FastAPI): thin handlers over the use cases in `runs/`."""
