"""Reports: tables from the result store (they read only the store)."""
