"""The documentation: relative links and #anchors in README.md and docs/ resolve."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / 'README.md'] + sorted((REPO / 'docs').glob('*.md'))


def _anchors(page: Path) -> set:
    """GitHub's heading ids: lower case, punctuation dropped, spaces as '-', '-1', '-2' for repeats."""
    anchors, seen = set(), {}
    text = re.sub(r'^```.*?^```', '', page.read_text(), flags=re.S | re.M)
    for heading in re.findall(r'^#{1,6} (.*)$', text, flags=re.M):
        slug = re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else '%s-%d' % (slug, count))
    return anchors


def test_relative_links_resolve():
    broken = []
    for page in PAGES:
        text = re.sub(r'^```.*?^```', '', page.read_text(), flags=re.S | re.M)
        for target in re.findall(r'\]\(([^)\s]+)\)', text):
            if re.match(r'[a-z]+://', target):
                continue
            path, _, anchor = target.partition('#')
            dest = (page.parent / path).resolve() if path else page
            if not dest.exists():
                broken.append('%s: %s (no such file)' % (page.name, target))
            elif anchor and dest.suffix == '.md' and anchor not in _anchors(dest):
                broken.append('%s: %s (no such heading)' % (page.name, target))
    assert not broken, broken


def test_readme_stays_short_and_every_page_is_indexed():
    readme = (REPO / 'README.md').read_text()
    assert len(readme.splitlines()) <= 250
    for page in PAGES[1:]:
        assert '](docs/%s)' % page.name in readme, '%s is not in the README index' % page.name
