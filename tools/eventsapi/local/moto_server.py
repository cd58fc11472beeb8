"""moto server with DynamoDB writes made atomic (eventsapi.local.atomic): what `eventsapi run` starts."""

import sys

from moto import server

from eventsapi.local.atomic import make_dynamodb_writes_atomic

if __name__ == "__main__":
    make_dynamodb_writes_atomic()
    server.main(sys.argv[1:])
