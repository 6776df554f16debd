"""Attempt limits (login, sign-up): the port, in memory for one process, in the database for
replicas that must count together."""
