"""Accounts of the web app: users, roles and login sessions (the port and its adapters)."""
