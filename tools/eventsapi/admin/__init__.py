"""Operator commands: API keys (with each developer's usage-plan key and the authorizer cache) and the
dead-letter queues. Each works on the local stack (`--local`) or a deployed one (`--stack NAME`)."""
