"""Git repositories as sources: a registry of repositories and their sync into the index."""
