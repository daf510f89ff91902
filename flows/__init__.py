"""Prefect flows: orchestration only; the work is in extractors/ and warehouse/."""
