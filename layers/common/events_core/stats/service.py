"""The stats routes' use cases: one webhook's figures, and the developer's overview."""

from typing import Any

from events_core import cursors
from events_core.errors import BadRequest
from events_core.http import query_limit
from events_core.stats.reader import DAY_MS, Window, figures_answer, parse_window
from events_core.stats.store import StatsStore
from events_core.webhooks import service as webhooks

OVERVIEW_PAGE = 10
OVERVIEW_MAX_PAGE = 25
OVERVIEW_MAX_WINDOW_MS = 7 * DAY_MS  # a page reads up to 25 webhooks' windows


def webhook_stats(developer_id: str, webhook_id: str, params: dict[str, str]) -> dict[str, Any]:
    window = parse_window(params)
    webhooks.get(developer_id, webhook_id)  # 404 for another developer's webhook
    return figures_answer(developer_id, webhook_id, window)


def overview(developer_id: str, params: dict[str, str]) -> dict[str, Any]:
    """One row per webhook (by id), `limit` a page; a cursor carries the first page's window, so
    every page answers the same one."""
    window = parse_window(params, allowed=frozenset({"limit", "cursor"}))
    limit = query_limit(params.get("limit"), default=OVERVIEW_PAGE, maximum=OVERVIEW_MAX_PAGE)
    scope = {"route": "stats", "developer": developer_id, "granularity": window.granularity, "limit": limit}
    after = ""
    if "cursor" in params:
        state = cursors.open_cursor(params["cursor"], scope)
        after = str(state.get("after", ""))
        window = Window(int(state["since"]), int(state["until"]), window.granularity)
    if window.until_ms - window.since_ms > OVERVIEW_MAX_WINDOW_MS:
        raise BadRequest("since: the overview spans at most 7 days", field="since")
    listed = sorted(webhooks.list_webhooks(developer_id), key=lambda w: w.webhook_id)
    rest = [w for w in listed if w.webhook_id > after]
    page, more = rest[:limit], len(rest) > limit
    store = StatsStore()
    rows = []
    for webhook in page:
        answer = figures_answer(developer_id, webhook.webhook_id, window, store)
        rows.append({**answer, "url": webhook.url, "enabled": webhook.enabled})
    following: dict[str, str | int | None] | None = (
        {"after": page[-1].webhook_id, "since": window.since_ms, "until": window.until_ms} if more else None
    )
    return {"webhooks": rows, "nextCursor": cursors.seal(following, scope) if following else None}
