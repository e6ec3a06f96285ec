#!/usr/bin/env bash
# Creates or updates .venv with everything tf_pose_ros needs: pinned Python packages, the ROS 2
# wheels, the package and its messages built with CMake, and the default model weights.
# Safe and quick to re-run: each step skips what is already done.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TF_POSE_ROS_VENV:-$ROOT/.venv}"
PYTHON="${TF_POSE_ROS_PYTHON:-python3.11}"
STEP="start"

fail() { echo "[setup] FAILED in step '$STEP': $*" >&2; exit 1; }
trap 'fail "command failed (exit $?) at line $LINENO; see the output above"' ERR
step() { STEP="$1"; echo "[setup] $1"; }

step "python"
command -v "$PYTHON" >/dev/null 2>&1 || fail "$PYTHON not found: the ROS 2 wheels need CPython 3.11 (set TF_POSE_ROS_PYTHON)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || fail "$PYTHON is not Python 3.11: the ROS 2 Kilted wheels are built for cp311"

step "virtual environment"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV" || fail "could not create $VENV"
fi

step "python packages (requirements.lock)"
want="$(sha256sum "$ROOT/requirements.lock" | cut -d' ' -f1)"
have="$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q "pip==26.3" \
    || fail "could not install pip (is the package registry reachable?)"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$ROOT/requirements.lock" \
    || fail "pip install -r requirements.lock failed"
  echo "$want" > "$VENV/.requirements.sha256"
else
  echo "[setup]   up to date"
fi

step "package and messages (CMake)"
bash "$ROOT/scripts/build_package.sh" "$VENV" || fail "building the ROS 2 package failed"

step "REP-155 messages (hri_msgs, built from interfaces/ unless importable)"
bash "$ROOT/scripts/build_hri_msgs.sh" "$VENV" || fail "building the hri_msgs messages failed"

step "model weights (mobilenet_thin)"
"$VENV/bin/tf-pose-ros" models fetch mobilenet_thin || fail "fetching the mobilenet_thin weights failed"

step "warm-up (convert the default network, compile the post-processing: later starts take seconds)"
"$VENV/bin/tf-pose-ros" warmup || fail "the warm-up of the default model failed"

STEP="done"
echo "[setup] ready: $VENV"
