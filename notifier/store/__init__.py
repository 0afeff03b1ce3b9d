"""Persistence: tracked state and the outbox. protocol.py is the contract, sqlite.py the
embedded implementation (schema.py its migrations, rows.py its row mapping)."""
