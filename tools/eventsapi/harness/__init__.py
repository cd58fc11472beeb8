"""Proof harnesses that drive the local runtime: a recording webhook receiver, the no-loss soak
and the schema fuzzing. They use the runtime; the runtime never uses them."""
