"""GET /console and its assets: the developer console's static files, shipped with this function.

No authorizer and no data: the page signs in with an API key the developer pastes, keeps it in
sessionStorage, and calls the public API like any other client. Every answer carries strict
headers: a Content-Security-Policy with no inline script or style, no framing, no sniffing.
"""

from pathlib import Path

from aws_lambda_powertools.logging import correlation_paths

from events_core.errors import NotFound
from events_core.http import Answer, Request, answer_of
from events_core.observability import entry_point

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-cache",
}
# Read once per execution environment: the files are part of the deployment package.
ASSETS = {path.name: path.read_text(encoding="utf-8") for path in STATIC.iterdir() if path.suffix in TYPES}


def asset(name: str) -> Answer:
    body = ASSETS.get(name)
    if body is None:
        raise NotFound(f"no console asset {name[:64]!r}")
    return Answer(body, 200, TYPES[Path(name).suffix])


def console(request: Request) -> Answer:
    """/console is the page; /console/{asset} one of its files."""
    return asset(request.path("asset") or "index.html")


@entry_point(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context) -> dict:
    answer = answer_of(console, event, context)
    answer["headers"] = {**SECURITY_HEADERS, **answer["headers"]}  # on a 404 too
    return answer
