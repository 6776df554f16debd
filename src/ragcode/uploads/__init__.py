"""Uploads of the web app: the registry port (what was uploaded, by whom, how far ingestion
got) and its adapters; the registry is also the persisted job queue of ingestion."""
