"""Observability: Prometheus metrics of every process, the system collector, the ops admin page."""
