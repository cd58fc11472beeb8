"""Delivery of platform events: envelope → fan-out → signed POST with retries and a dead-letter queue."""
