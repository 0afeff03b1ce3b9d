"""Delivery, channel-neutral: the Channel protocol (channel.py), the retry policy
(retry.py), the outcome of `finished` events from the job logs (completions.py), and the
loop that drains the outbox over every channel (loop.py)."""
