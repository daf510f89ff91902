"""DuckDB, and only DuckDB: connections, migrations, loads, views and queries (SQL only)."""
