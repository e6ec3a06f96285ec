#!/usr/bin/env bash
# Builds the tf_pose_ros ROS 2 package (messages, Python package, console scripts, launch and config
# files) with plain CMake and the ROS 2 wheels, and installs it into a virtual environment.
#
#   scripts/build_package.sh VENV_DIR
#
# The install is a symlink install: the installed .py files link to the sources, so edits need no
# re-run; new files and message changes do. A re-run is incremental (no reconfigure unless
# CMakeLists.txt or the configure options changed). Build directory: build/venv (override with
# TF_POSE_ROS_BUILD_DIR). On a ROS 2 distro use colcon instead (see README.md, "On a ROS 2 distro").
set -euo pipefail

NAME=build_package BUILD_SUBDIR=build/venv BUILD_DIR_VARIABLE=TF_POSE_ROS_BUILD_DIR
source "$(dirname "${BASH_SOURCE[0]}")/venv_cmake.sh"
venv_arguments "$@"
"$PY" -c 'import ament_package, rosidl_generator_py' >/dev/null 2>&1 \
  || fail "the ROS 2 wheels are not installed in $VENV (ament_package or rosidl_generator_py is missing)"
venv_cmake_tools

CONFIGURE_ARGS=(
  -DCMAKE_BUILD_TYPE=Release
  -DBUILD_TESTING=OFF
  -DCMAKE_INSTALL_PREFIX="$VENV"
  -DPython3_EXECUTABLE="$PY"
  -DAMENT_CMAKE_SYMLINK_INSTALL=ON
  -DTF_POSE_ROS_SCRIPTS_DESTINATION=bin
)
STAMP="$BUILD/tf_pose_ros_configure_args.txt"
WANT="$(printf '%s\n' "$ROOT" "${CONFIGURE_ARGS[@]}")"

mkdir -p "$(dirname "$BUILD")"
: > "$LOG"
if [ ! -f "$BUILD/CMakeCache.txt" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  STEP="configure"
  if [ -f "$BUILD/CMakeCache.txt" ]; then
    echo "[build_package] configure options changed (another venv?): fresh build in $BUILD"
    rm -rf "$BUILD"
  fi
  echo "[build_package] configure ($BUILD)"
  if ! cmake -S "$ROOT" -B "$BUILD" "${CONFIGURE_ARGS[@]}" >>"$LOG" 2>&1; then
    tail -40 "$LOG" >&2
    rm -f "$BUILD/CMakeCache.txt"  # configure again next time
    fail "cmake configure failed; full log: $LOG"
  fi
  printf '%s\n' "$WANT" > "$STAMP"
fi

venv_cmake_build_install

# A symlink install never removes anything: drop links left dangling by deleted sources or by an
# earlier build directory.
PY_DIR="$(sed -n 's/^PYTHON_INSTALL_DIR:[A-Z]*=//p' "$BUILD/CMakeCache.txt")"
for dir in "$VENV/$PY_DIR/tf_pose_ros" "$VENV/share/tf_pose_ros"; do
  [ -n "$PY_DIR" ] && [ -d "$dir" ] && find "$dir" -xtype l -delete
done

# The executables are in bin/ (on PATH in the venv); ros2 run and ros2 launch look in
# lib/<package>, so they are linked there as well.
mkdir -p "$VENV/lib/tf_pose_ros"
for exe in $(sed -n 's/^ *\([A-Za-z0-9_-]*\) *= *tf_pose_ros[.a-z_]*:main$/\1/p' "$ROOT/setup.cfg"); do
  ln -sfn "$VENV/bin/$exe" "$VENV/lib/tf_pose_ros/$exe"
done
find "$VENV/lib/tf_pose_ros" -xtype l -delete

STEP="check import"
(cd / && "$PY" -c 'from tf_pose_ros.msg import Persons; Persons()') >>"$LOG" 2>&1 \
  || { tail -20 "$LOG" >&2; fail "the installed messages do not import (python -c 'from tf_pose_ros.msg import Persons'); full log: $LOG"; }
echo "[build_package] done"
