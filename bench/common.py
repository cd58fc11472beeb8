"""Shared pieces of the benchmarks: the template's stack on in-process moto, timing, the table."""

import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from moto import mock_aws

from events_core import aws
from events_core.config import settings
from eventsapi.invoke import LocalFunction
from eventsapi.local_stack import FAKE_CREDENTIALS, REGION, STACK_NAME, TEMPLATE, function_environment, local_functions
from eventsapi.provision import Provisioner
from eventsapi.template import Template


@contextmanager
def in_process_stack(**parameters: str) -> Iterator[tuple[Template, dict[str, LocalFunction]]]:
    saved = dict(os.environ)
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_METRICS_DISABLED="true")
    try:
        with mock_aws():
            template = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION, overrides=parameters)
            Provisioner(template).provision()
            os.environ.update(function_environment(template))
            os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
            settings.cache_clear()
            aws.reset()
            yield template, local_functions(template)
    finally:
        aws.reset()
        settings.cache_clear()
        os.environ.clear()
        os.environ.update(saved)


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)
