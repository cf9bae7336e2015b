"""Bulk data: `$export` (Bulk Data Access IG) and NDJSON import, as resumable jobs (ADR 0007)."""
