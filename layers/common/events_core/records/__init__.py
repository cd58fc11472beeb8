"""The delivery record, its one home: what a delivery is (its id, its queued message, its stored
record and the store that keeps it). The pipeline (delivery/) and the API's history use cases
(history/) both build on it; it imports neither."""
