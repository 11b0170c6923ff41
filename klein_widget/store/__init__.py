"""The store: every image paid for, on disk with its parameters, indexed in SQLite.

- `_gallery`: the `Gallery` folder (the clients' journal) and where it lives.
- `_index`, `_entry`: the SQLite index and its rows.
- `_resume`: fetch tasks that were paid for but never downloaded.

Imports the client only: no UI, no session (tested).
"""
