"""`ragcode migrate`: copy an embedded data directory (SQLite files) into an empty PostgreSQL
database, so that a team moves to the scale-out setup without re-indexing, re-summarizing or
losing accounts, sessions, history and uploads (issue 12)."""
