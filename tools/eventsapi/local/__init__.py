"""The local runtime: template.yaml on moto, no Docker. It reads the template (`template`),
creates what it declares in the emulator (`provision`), runs handlers as Lambda would (`invoke`),
stands in for API Gateway (`gateway`) and for SQS event-source mappings (`sqs_source`), and puts
them together, in a server (`runtime`, what `make run` starts) or in-process (`inprocess`, for
tests and benchmarks)."""
