"""Ordered delivery per key: opt-in per webhook (`ordering`), see docs/design.md "Ordered delivery"."""
