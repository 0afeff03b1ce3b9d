"""The pure core: job events from successive snapshots. Imports nothing that does I/O."""
