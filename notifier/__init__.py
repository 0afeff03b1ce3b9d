"""IPS job notifier: emails the submitters of IPS jobs when their jobs change state."""

__version__ = "0.1.0"
