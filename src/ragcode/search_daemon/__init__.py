"""A resident per-user search process: `ragcode search` answers from warm models.

client.py is what the CLI imports first (socket + json only); server.py and service.py load
the App. Only the owner's uid is served, and only its own data dir.
"""
