"""Shared domain package of the Events API: settings, models, data access and delivery logic.

Ships in the Lambda layer; handlers under functions/ stay thin and call into it.
"""
