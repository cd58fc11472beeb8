"""KMS requests per 1,000 posts at a fixed spread of traffic, driven by the real secret code
(`events_core.secrets.SecretBox`, its cache and its data keys) over a counting stand-in for KMS.

The spread (deploy review H1): 10,000 webhooks whose post rates follow Zipf(1.1), 1,000,000 posts
a day at random times, each handled by one of 20 delivery execution environments chosen at random;
an environment lives 4 hours (staggered), then a fresh one starts with empty caches. Each post opens
its webhook's signing secret as the delivery function does. Two stores are compared: secrets sealed
by KMS itself (format v1, cached 300 s per environment: what every secret was before envelope
encryption) and secrets sealed with the stack's data key (format v2).

    .venv/bin/python -m bench.kms_spread
"""

import base64
import json
import os
import random
import sys
import time
from bisect import bisect
from collections import Counter
from itertools import accumulate
from typing import Any

from botocore.exceptions import ClientError

from events_core.secrets import DataKeys, SecretBox

WEBHOOKS = 10_000
POSTS_PER_DAY = 1_000_000
ENVIRONMENTS = 20
LIFETIME_SECONDS = 4 * 3600
ZIPF = 1.1
CACHE_SECONDS = 300  # the template's SecretCacheSeconds
TARGET_PER_1000 = 1.0


class CountingKms:
    """The KMS calls the box makes, counted by operation; the encryption context is checked."""

    def __init__(self) -> None:
        self.calls: Counter = Counter()

    def encrypt(self, KeyId: str, Plaintext: bytes, EncryptionContext: dict) -> dict:
        self.calls["Encrypt"] += 1
        return {"CiphertextBlob": json.dumps([EncryptionContext, base64.b64encode(Plaintext).decode()]).encode()}

    def decrypt(self, KeyId: str, CiphertextBlob: bytes, EncryptionContext: dict) -> dict:
        self.calls["Decrypt"] += 1
        context, plain = json.loads(CiphertextBlob)
        if context != EncryptionContext:
            raise ClientError({"Error": {"Code": "InvalidCiphertextException", "Message": ""}}, "Decrypt")
        return {"Plaintext": base64.b64decode(plain)}

    def generate_data_key(self, KeyId: str, KeySpec: str, EncryptionContext: dict) -> dict:
        self.calls["GenerateDataKey"] += 1
        plain = os.urandom(32)
        return {"Plaintext": plain, "CiphertextBlob": self.encrypt(KeyId, plain, EncryptionContext)["CiphertextBlob"]}


class MemoryControlTable:
    def __init__(self) -> None:
        self.items: dict[str, dict] = {}

    def get_item(self, Key: dict, ConsistentRead: bool = False) -> dict:
        found = self.items.get(Key["controlKey"])
        return {"Item": found} if found else {}

    def put_item(self, Item: dict, ConditionExpression: str | None = None) -> None:
        if ConditionExpression and Item["controlKey"] in self.items:
            raise ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": ""}}, "PutItem")
        self.items[Item["controlKey"]] = Item


def spread(sealed_format: str, posts: int = POSTS_PER_DAY, seed: int = 11) -> dict[str, Any]:
    """Replays one day of posts; answers the KMS requests made while delivering (sealing excluded)."""
    rng = random.Random(seed)
    kms, table = CountingKms(), MemoryControlTable()
    sealer = SecretBox("stack-key", client=kms, data_keys=DataKeys(table))
    if sealed_format == "v2":
        sealed = [sealer.seal(f"whsec_{n}", "dev", f"wh{n}") for n in range(WEBHOOKS)]
    else:
        sealed = [
            base64.b64encode(
                kms.encrypt("stack-key", f"whsec_{n}".encode(), {"developerId": "dev", "webhookId": f"wh{n}"})[
                    "CiphertextBlob"
                ]
            ).decode()
            for n in range(WEBHOOKS)
        ]
    kms.calls.clear()
    cumulative = list(accumulate(1 / rank**ZIPF for rank in range(1, WEBHOOKS + 1)))
    total = cumulative[-1]
    times = sorted(rng.uniform(0, 86400) for _ in range(posts))
    now = [0.0]
    boxes: dict[tuple[int, int], SecretBox] = {}
    stagger = LIFETIME_SECONDS / ENVIRONMENTS
    for at in times:
        now[0] = at
        hook = min(bisect(cumulative, rng.random() * total), WEBHOOKS - 1)
        environment = rng.randrange(ENVIRONMENTS)
        generation = int((at + environment * stagger) // LIFETIME_SECONDS)
        box = boxes.get((environment, generation))
        if box is None:
            box = boxes[(environment, generation)] = SecretBox(
                "stack-key", cache_seconds=CACHE_SECONDS, client=kms, data_keys=DataKeys(table), clock=lambda: now[0]
            )
        box.open(sealed[hook], "dev", f"wh{hook}")
    requests = sum(kms.calls.values())
    return {
        "format": sealed_format,
        "posts": posts,
        "environments_started": len(boxes),
        "calls": dict(kms.calls),
        "requests": requests,
        "per_1000_posts": requests / posts * 1000,
    }


def measure(posts: int = POSTS_PER_DAY) -> dict[str, Any]:
    started = time.perf_counter()
    answer = {"v2": spread("v2", posts), "v1": spread("v1", posts)}
    answer["seconds"] = time.perf_counter() - started
    return answer


def rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    v2, v1 = results["v2"], results["v1"]
    verdict = "ok" if v2["per_1000_posts"] <= TARGET_PER_1000 else "OVER"
    spread_text = (
        f"{WEBHOOKS:,} webhooks, Zipf({ZIPF}) rates, {v2['posts']:,} posts/day, {ENVIRONMENTS} environments × 4 h"
    )
    return [
        (
            f"KMS requests per 1,000 posts ({spread_text})",
            f"{v2['per_1000_posts']:.3f}  (target ≤ {TARGET_PER_1000:g}: {verdict}; {v2['calls']})",
        ),
        (
            "KMS requests per 1,000 posts, secrets sealed before (v1, 300 s cache)",
            f"{v1['per_1000_posts']:.1f}  ({v1['calls']})",
        ),
    ]


if __name__ == "__main__":
    measured = measure(int(sys.argv[1]) if len(sys.argv) > 1 else POSTS_PER_DAY)
    print(json.dumps({"rows": rows(measured), "results": measured}))
