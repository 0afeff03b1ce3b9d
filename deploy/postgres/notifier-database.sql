-- The notifier's database and its login, for replicas that share one PostgreSQL (14 or later).
-- Run once, as a PostgreSQL superuser, on the database server:
--
--   sudo -u postgres psql -v ON_ERROR_STOP=1 -v password="$(sudo cat /etc/notifier/store-password)" \
--        -f notifier-database.sql
--
-- The notifier creates and migrates its own tables at start (numbered migrations, one
-- replica at a time), so its login owns the database and its public schema and needs no
-- other privilege: no superuser, no CREATEROLE, no CREATEDB. Leadership uses advisory locks
-- and pg_locks, which every login may use. Change the names here and in store.url together.

CREATE ROLE notifier LOGIN PASSWORD :'password';
CREATE DATABASE notifier OWNER notifier;
\connect notifier
-- Only the notifier's login works in this database (PostgreSQL 14 lets every login create
-- in public; 15 and later already do not).
REVOKE ALL ON DATABASE notifier FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO notifier;
