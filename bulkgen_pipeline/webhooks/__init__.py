"""Webhooks: which addresses may receive them, how they are signed, and their delivery."""
