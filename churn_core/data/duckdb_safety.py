"""One DuckDB lock-down for every connection the engine opens (no ``duckdb`` import here).

The session store, the SQL worker and the CSV writer open DuckDB connections. They all start from
:data:`SAFE_CONFIG` (no extension is installed or loaded, no replacement scans of Python
variables) and, once their own tables are in, call :func:`lock_down`: files only in the allowed
folder (none by default), no external access, and the configuration locked so a later statement
cannot undo it (PITFALLS order: directories, external access, lock).
"""

SAFE_CONFIG = {
    "python_enable_replacements": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
}


def connection_config(**extra):
    """:data:`SAFE_CONFIG` with a connection's own settings (memory, threads, temp folder...)."""
    config = dict(SAFE_CONFIG)
    config.update(extra)
    return config


def lock_down(con, allowed_directory=None):
    """Allow files only under ``allowed_directory`` (if any), cut external access, lock the settings."""
    if allowed_directory is not None:
        root = str(allowed_directory).replace("'", "''")
        con.execute(f"SET allowed_directories=['{root}']")
    con.execute("SET enable_external_access=false")
    con.execute("SET lock_configuration=true")
    return con
