"""API Gateway REQUEST authorizer: X-API-Key → developer and scopes, passed on in the context.

The answer is cached by API Gateway per key, so the policy allows the whole API; each function
then checks the scope it needs (a 403 is logged like any other call) and counts the developer's
rate (events_core.rate_limit: no API Gateway key per developer, so no 10,000-developer ceiling).
The policy is written in the request's own partition (aws, aws-cn, aws-us-gov).
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)

from events_core.api_keys import ApiKeyStore
from events_core.errors import Unauthorized
from events_core.observability import entry_point, logger

API_KEY_HEADER = "X-API-Key"


@entry_point(correlation_paths.API_GATEWAY_REST)
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def lambda_handler(event: APIGatewayAuthorizerRequestEvent, context) -> dict:
    caller = ApiKeyStore().authenticate(event.headers.get(API_KEY_HEADER) or "")  # case-insensitive lookup
    if caller is None:
        logger.info("api key refused")
        # API Gateway answers 401 only for this exact error message.
        raise Unauthorized("Unauthorized")
    arn = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=caller.developer_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context={"developerId": caller.developer_id, "scopes": ",".join(sorted(caller.scopes))},
        partition=arn.partition,
    )
    policy.allow_all_routes()
    logger.append_keys(developer_id=caller.developer_id)
    return policy.asdict()
