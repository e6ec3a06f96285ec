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

NAME=build_hri_msgs BUILD_SUBDIR=build/hri_msgs BUILD_DIR_VARIABLE=TF_POSE_ROS_HRI_BUILD_DIR
source "$(dirname "${BASH_SOURCE[0]}")/venv_cmake.sh"
venv_arguments "$@"
if (cd / && "$PY" -c 'from hri_msgs.msg import IdsList, Skeleton2D, NormalizedRegionOfInterest2D') >/dev/null 2>&1; then
  echo "[build_hri_msgs] hri_msgs already importable in $VENV: nothing to do"
  exit 0
fi
venv_cmake_tools

mkdir -p "$(dirname "$BUILD")"
: > "$LOG"
STEP="configure"
echo "[build_hri_msgs] configure ($BUILD)"
cmake -S "$ROOT/interfaces/hri_msgs" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DCMAKE_INSTALL_PREFIX="$VENV" -DPython3_EXECUTABLE="$PY" >>"$LOG" 2>&1 \
  || { tail -40 "$LOG" >&2; fail "cmake configure failed; full log: $LOG"; }
venv_cmake_build_install

STEP="check import"
(cd / && "$PY" -c 'from hri_msgs.msg import IdsList, Skeleton2D; assert len(Skeleton2D().skeleton) == 18') >>"$LOG" 2>&1 \
  || { tail -20 "$LOG" >&2; fail "the installed hri_msgs does not import; full log: $LOG"; }
echo "[build_hri_msgs] done"
