"""Developer tooling for the Events API: the local stack (template.yaml on moto, no Docker) and the
`eventsapi` command (API keys, local invoke)."""
