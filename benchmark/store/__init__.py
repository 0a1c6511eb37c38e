"""The results database: every run's record, queryable, safe under concurrent writers."""

from medbench.store.database import FILTERS, ResultStore, StoreError, default_path, record_key

__all__ = ["FILTERS", "ResultStore", "StoreError", "default_path", "record_key"]
