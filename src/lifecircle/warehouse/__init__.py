"""The PostgreSQL warehouse: engine, embedded server, migrations, bulk loads, checksums."""
from .engine import get_engine, run_sql_file, read_sql_text

__all__ = ["get_engine", "run_sql_file", "read_sql_text"]
