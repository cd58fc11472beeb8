"""The standalone service client batches, keeps what a failed flush could not send, and never
raises from log()."""

import json

import pytest

from invoratec_api_call_log import MAX_BATCH_LINES, ApiCallLogger


class _Exceptions:
    class ResourceAlreadyExistsException(Exception):
        pass


class FakeLogs:
    exceptions = _Exceptions

    def __init__(self, failures: int = 0):
        self.failures = failures
        self.batches: list[list[dict]] = []

    def create_log_stream(self, **_):
        pass

    def put_log_events(self, logEvents, **_):  # boto3's name
        if self.failures:
            self.failures -= 1
            raise ConnectionError("down")
        self.batches.append(logEvents)


def test_lines_are_the_documented_format_and_go_in_batches():
    client = FakeLogs()
    logger = ApiCallLogger("g", client=client, flush_at_exit=False)
    for n in range(MAX_BATCH_LINES + 5):
        logger.log(developer_id="u", method="get", endpoint="/v1/x", status=200, response_time_ms=n, at_ms=1000 + n)
    assert [len(batch) for batch in client.batches] == [MAX_BATCH_LINES]  # a full batch goes at once
    assert logger.flush() == 5
    line = json.loads(client.batches[0][0]["message"])
    assert line == {
        "requestId": line["requestId"],
        "developerId": "u",
        "method": "GET",
        "path": "/v1/x",
        "stage": "$default",
        "status": "200",
        "requestTimeEpoch": "1000",
        "latencyMs": "0",
    }


def test_a_failed_flush_keeps_the_lines_for_the_next():
    client = FakeLogs(failures=1)
    logger = ApiCallLogger("g", client=client, flush_at_exit=False)
    logger.log(developer_id="u", method="GET", endpoint="/v1/x", status=200, response_time_ms=1)
    with pytest.raises(ConnectionError):
        logger.flush()
    assert logger.flush() == 1 and logger.sent == 1
