"""The PostgreSQL side of the store: a shared database for several replicas.

target.py says where the database is and opens connections to it (never with a password in
a message); schema.py holds its numbered migrations; leadership.py decides which replica
polls (an advisory lock on a connection of its own, with a lease).
"""
