"""A developer's data over its life: the walk of the data map (events_core.data_map) that
off-boarding, export, retention and expunge share, and the developer's settings."""
