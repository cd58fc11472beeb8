"""Webhook subscriptions: validation, filters, storage."""
