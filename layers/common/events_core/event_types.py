"""The ten subscribable event types, in the reference's order."""

EVENT_TYPES: tuple[str, ...] = (
    "app.installed",
    "app.configured",
    "tool.executed",
    "tool.failed",
    "knowledge.updated",
    "graph.synced",
    "workflow.completed",
    "workflow.failed",
    "alert.triggered",
    "ai.conversation",
)
