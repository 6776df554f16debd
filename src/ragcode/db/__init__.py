"""Helpers the persistence adapters share (one SQLite file behind a lock; PostgreSQL pools)."""
