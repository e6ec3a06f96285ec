#!/usr/bin/env bash
# Builds and installs the tf_pose_ros ROS 2 package (messages + Python package + entry points) into a
# virtual environment with plain CMake and the ROS 2 wheels. Incremental: a re-run only redoes
# what changed. Usage: scripts/build_package.sh VENV_DIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$(cd "${1:?usage: build_package.sh VENV_DIR}" && pwd)"
BUILD="$ROOT/build/venv"

fail() { echo "[build] FAILED: $*" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || fail "$VENV has no bin/python"
command -v cmake >/dev/null 2>&1 || fail "cmake not found (apt-get install cmake)"

# The ament/rosidl CMake code and its Python generators come from the wheels inside the venv.
export AMENT_PREFIX_PATH="$VENV"
export CMAKE_PREFIX_PATH="$VENV"
export PATH="$VENV/bin:$PATH"
export PYTHONDONTWRITEBYTECODE=1
# The generators import rclpy-free rosidl modules, but their C libraries live in the wheels' .libs.
export LD_LIBRARY_PATH="$("$VENV/bin/python" -c 'import ros_wheels_bootstrapper as b; print(b.get_ros_paths())')"

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  echo "[build] configure"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    -DCMAKE_INSTALL_PREFIX="$VENV" -DPython3_EXECUTABLE="$VENV/bin/python" \
    -DAMENT_CMAKE_SYMLINK_INSTALL=ON -DTF_POSE_ROS_SCRIPTS_DESTINATION=bin \
    > "$BUILD.configure.log" 2>&1 || { cat "$BUILD.configure.log" >&2; rm -f "$BUILD/CMakeCache.txt"; fail "cmake configure"; }
fi
echo "[build] compile"
cmake --build "$BUILD" -j "$(nproc)" > "$BUILD.build.log" 2>&1 || { tail -50 "$BUILD.build.log" >&2; fail "cmake build"; }
echo "[build] install into $VENV"
(cd "$BUILD" && cmake --install .) > "$BUILD.install.log" 2>&1 || { tail -50 "$BUILD.install.log" >&2; fail "cmake install"; }
