"""The ControlTable key prefixes of a developer's lifecycle documents, in a module of their own so
that the data map reads them without importing the code that runs the documents' jobs."""

SETTINGS_PREFIX = "settings#"  # one item per developer: retention and other settings
EXPUNGE_PREFIX = "expunge#"  # one item per developer: its expunge jobs
