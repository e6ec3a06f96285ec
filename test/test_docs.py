"""The documentation: relative links and #anchors in README.md and docs/ resolve; the README's code runs as
written and its picture is what `make docs-image` makes now."""

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

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


# --- README code runs as written (after `make setup`) ----------------------------------------------------------

#: README command lines run here, by how they start.
RUN = ('.venv/bin/tf-pose-ros ', '.venv/bin/python -m ')
#: Those not run here: make targets (`make test` runs this suite, the demo's executable has its own test), the
#: nodes, which run until stopped (test_stopping.py, test_persons_echo.py), and a ROS 2 distro's tools.
NOT_RUN = ('make ', '.venv/bin/pose_estimator ', '.venv/bin/persons_echo', 'cd ', 'pip ', 'source ', 'ros2 ')
#: Pixels of the README picture that may differ from a fresh one: an engine's last digits can move a keypoint
#: by a pixel on another machine; a limb more or less differs in hundreds (one hip's two limbs: 534).
PICTURE_TOLERANCE_PX = 100


def _blocks(language):
    return re.findall(r'^```%s\n(.*?)^```' % language, (REPO / 'README.md').read_text(), flags=re.S | re.M)


def _commands():
    lines = (line.split(' # ')[0].strip() for block in _blocks('bash') for line in block.splitlines())
    return [line for line in lines if line]


@pytest.fixture
def checkout_dir(tmp_path):
    """A working directory that looks like the repository's root to README commands; what they write stays here."""
    for name in ('.venv', 'tf_pose_ros'):
        (tmp_path / name).symlink_to(REPO / name)
    return tmp_path


def _run(args, cwd):
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, '%s: exit status %d\n%s' % (args, done.returncode, done.stderr[-3000:])
    return done


def test_every_readme_command_is_run_here_or_named_as_not_run():
    commands = _commands()
    assert [c for c in commands if c.startswith(RUN)], 'no command line example found'
    assert not [c for c in commands if not c.startswith(RUN + NOT_RUN)]


@pytest.mark.slow
def test_the_readme_command_line_examples_run_as_written(checkout_dir):
    for command in _commands():
        if command.startswith(RUN):
            _run(shlex.split(command), checkout_dir)
    out = checkout_dir / 'out'
    assert json.loads((out / 'people.json').read_text())['images'][0]['persons']
    for written in ('warmup_people_pose.png', 'clip.mp4', 'clip_pose.mp4'):
        assert (out / written).stat().st_size > 0, written


@pytest.mark.slow
def test_the_readme_python_runs_as_written(checkout_dir):
    blocks = _blocks('python')
    assert blocks
    for block in blocks:
        done = _run([str(REPO / '.venv' / 'bin' / 'python'), '-c', block], checkout_dir)
        assert len(done.stdout.splitlines()) == 3, done.stdout  # a line per person of the photo of three


def _mismatched_pixels(image, other, shift=2, tolerance=48):
    """Pixels of either image with no pixel of the other within ``shift`` pixels and ``tolerance`` levels of it
    (JPEG noise; keypoints a pixel apart)."""
    kernel = np.ones((2 * shift + 1, 2 * shift + 1), np.uint8)

    def unmatched(a, b):
        low, high = cv2.erode(b, kernel).astype(int), cv2.dilate(b, kernel).astype(int)
        return ((a < low - tolerance) | (a > high + tolerance)).any(axis=2)
    return int((unmatched(image, other) | unmatched(other, image)).sum())


@pytest.mark.slow
def test_the_readme_picture_is_what_make_docs_image_makes_now(tmp_path):
    recipe = re.search(r'^docs-image:.*\n\t(.*)$', (REPO / 'Makefile').read_text(), flags=re.M)
    assert recipe and recipe.group(1) == '$(PY) scripts/docs_image.py'
    assert '](docs/images/demo.jpg)' in (REPO / 'README.md').read_text()
    _run([sys.executable, str(REPO / 'scripts' / 'docs_image.py'), str(tmp_path / 'demo.jpg')], REPO)
    made, committed = (cv2.imread(str(path)) for path in (tmp_path / 'demo.jpg', REPO / 'docs' / 'images' / 'demo.jpg'))
    assert made.shape == committed.shape
    mismatched = _mismatched_pixels(made, committed)
    assert mismatched <= PICTURE_TOLERANCE_PX, '%d pixels differ: run `make docs-image`' % mismatched
