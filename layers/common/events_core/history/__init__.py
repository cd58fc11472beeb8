"""Delivery history: one record per (event, webhook) with its attempts and exact payload, read
through the API (list, one, redeliver, recover). The pipeline writes it; developers read it."""
