"""Listen sessions: a developer's live deliveries, handed to `eventsapi listen` by long-polling."""
