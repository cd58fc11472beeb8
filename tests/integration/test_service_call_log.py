"""A service not behind API Gateway logs a developer's call with the standalone client
(clients/api_call_log): the same entry reaches the same logs, through the same ingest."""

import boto3

from invoratec_api_call_log import ApiCallLogger


def test_a_service_call_logged_by_the_client_shows_in_the_developers_logs(stack):
    group = stack.template.physical["ServiceCallLogs"].ref
    calls = ApiCallLogger(group, service="erp-tools", client=boto3.client("logs"), flush_at_exit=False)
    calls.log(
        developer_id="user_123",
        method="post",
        endpoint="/v1/tools/erp_get_inventory/test?x=1",
        status=200,
        response_time_ms=230,
    )
    calls.log(developer_id="user_456", method="GET", endpoint="/v1/tools/erp_list", status=503, response_time_ms=9)
    assert calls.flush() == 2
    assert stack.gateway.log_delivery.poll() == 2  # what CloudWatch Logs' subscription hands over
    assert stack.gateway.log_delivery.poll() == 0  # once
    logs = stack.call("GET", "/v1/events/logs?endpoint=/v1/tools", key=stack.key()).json["logs"]
    assert [(log["userId"], log["method"], log["endpoint"], log["status"], log["responseTime"]) for log in logs] == [
        ("user_123", "POST", "/v1/tools/erp_get_inventory/test", 200, 230)
    ]
