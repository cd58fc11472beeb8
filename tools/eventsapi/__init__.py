"""Developer tooling for the Events API: the local runtime (`eventsapi.local`), the proof harnesses
(`eventsapi.harness`), operator commands (`eventsapi.admin`) and the `eventsapi` command (`cli`)."""
