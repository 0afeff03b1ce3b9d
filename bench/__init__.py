"""Benchmarks that measure the notifier against its peers in the same run (`make bench`)."""
