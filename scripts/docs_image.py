"""The README's picture, docs/images/demo.jpg: what `tf-pose-ros infer` draws on the bundled photo.

    make docs-image                                  # or: .venv/bin/python scripts/docs_image.py [OUT.jpg]

The precision is pinned to fp32: where bf16 runs fast the default preset runs it on a larger input, which finds
slightly other keypoints, and the picture would depend on the machine. test/test_docs.py checks that the committed
picture is what this makes now.
"""

import sys
import tempfile
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parent.parent
PHOTO = REPO / 'tf_pose_ros' / 'data' / 'warmup_people.jpg'
OUTPUT = REPO / 'docs' / 'images' / 'demo.jpg'
#: Fixed encoder settings: the same overlay gives the same file.
JPEG_PARAMS = [cv2.IMWRITE_JPEG_QUALITY, 90]
INFER_ARGS = ['--precision', 'fp32']


def make(destination: Path = OUTPUT) -> None:
    """Run `tf-pose-ros infer` on the photo and write its overlay to ``destination`` as JPEG."""
    sys.path.insert(0, str(REPO))  # this checkout's package, not another one installed
    from tf_pose_ros.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        status = main(['infer', str(PHOTO), *INFER_ARGS, '--overlay-dir', tmp, '--json', str(Path(tmp) / 'out.json')])
        if status != 0:
            raise SystemExit('tf-pose-ros infer failed (exit status %d)' % status)
        overlay = cv2.imread(str(Path(tmp) / (PHOTO.stem + '_pose.png')))
    if not cv2.imwrite(str(destination), overlay, JPEG_PARAMS):
        raise SystemExit('cannot write %s' % destination)
    print('wrote %s' % destination)


if __name__ == '__main__':
    make(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT)
