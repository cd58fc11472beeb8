"""Every relative link in README.md and docs/*.md reaches an existing file, and its #anchor a heading
of that file (as GitHub makes anchors), so moving a section from one page to another cannot leave a
reader at a dead link."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*```")


def prose(text: str) -> str:
    """The page without its code blocks (a `[x](y)` in code is code, not a link)."""
    kept, inside = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            kept.append(line)
    return "\n".join(kept)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for line in prose(page.read_text()).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            base = slug(heading.group(1))
            name, n = base, 0
            while name in found:
                n += 1
                name = f"{base}-{n}"
            found.add(name)
    return found


def relative_links(page: Path) -> list[str]:
    return [
        target
        for target in LINK.findall(prose(page.read_text()))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto:
    ]


def test_slugs_are_githubs():
    assert slug("Live events on your laptop: `eventsapi listen`") == "live-events-on-your-laptop-eventsapi-listen"
    assert slug("When deliveries fail: look, understand, recover") == "when-deliveries-fail-look-understand-recover"
    assert slug("Where is…") == "where-is"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_reaches_a_file_and_its_anchor(page):
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        reached = (page.parent / path).resolve() if path else page
        if not reached.exists():
            broken.append(f"{target}: no such file")
        elif anchor and reached.suffix == ".md" and anchor not in anchors(reached):
            broken.append(f"{target}: no heading makes #{anchor}")
    assert broken == [], f"{page.relative_to(ROOT)}: {broken}"


def test_the_user_docs_link_to_one_another_from_the_readme():
    linked = set(relative_links(ROOT / "README.md"))
    for name in ("receivers", "producers", "api", "operators"):
        assert f"docs/{name}.md" in linked, name


GUIDES = {"receivers": "For a developer", "producers": "For the platform's services", "api": "For anyone calling"}
GUIDES["operators"] = "For whoever deploys"


def test_the_readme_stays_a_quickstart_and_each_guide_says_who_it_is_for():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 260, "the README is a quickstart: move the rest"
    for name, reader in GUIDES.items():
        title, opening = (ROOT / "docs" / f"{name}.md").read_text().split("\n\n")[:2]
        assert title.startswith("# ") and opening.startswith(reader), name
