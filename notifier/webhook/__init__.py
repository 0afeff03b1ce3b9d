"""Webhooks: the payloads (json, slack, teams), their signature and the HTTP sender.

See docs/DESIGN.md ("Webhooks"). Never touches the store, never retries on its own and never
shows a webhook's URL path, query or secret: errors name a webhook by scheme and host only.
"""
