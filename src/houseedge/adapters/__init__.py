"""Broker adapters over the real client libraries."""
