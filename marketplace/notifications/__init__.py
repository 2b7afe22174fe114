"""Outgoing mail through an outbox: rows written with the event, delivered by a job with retries."""
