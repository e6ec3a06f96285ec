# One Python package `tf_pose_ros` holding both our sources and the generated message modules.
#
# rosidl_generator_py installs the generated modules (msg/ and an empty __init__.py) as a Python
# package named after the project, with ament_python_install_package(). ament_cmake_python accepts
# each package name only once (a second call fails on duplicate targets and "has been installed
# before"; ros2/rosidl_python#141), so the usual ament_python_install_package(${PROJECT_NAME}) for
# our own code cannot follow. Instead:
#   - this file wraps ament_python_install_package(): the generator's call for this project only
#     records where the generated modules are (include this file before rosidl_generate_interfaces);
#   - tf_pose_ros_install_generated_python_modules() installs the generated msg/ subpackage;
#   - the regular ament_python_install_package(${PROJECT_NAME} ...) call installs our sources, the
#     egg-info and the console scripts from setup.cfg. In a symlink install (colcon
#     --symlink-install, scripts/build_package.sh) the installed .py files link to the sources.
# The compiled typesupport extensions are installed by rosidl_generator_py itself (install(TARGETS))
# into the same directory.

# The generator installs its extensions into PYTHON_INSTALL_DIR, which the skipped call would have
# defined (a cache variable, so this sets it for the whole project).
ament_get_python_install_dir(_tf_pose_ros_python_install_dir)

# CMake keeps the wrapped command reachable as _ament_python_install_package.
macro(ament_python_install_package _tf_pose_ros_package_name)
  cmake_parse_arguments(_tf_pose_ros_apip "" "PACKAGE_DIR" "" ${ARGN})
  if("${_tf_pose_ros_package_name}" STREQUAL "${PROJECT_NAME}"
      AND "${_tf_pose_ros_apip_PACKAGE_DIR}" MATCHES "/rosidl_generator_py/${PROJECT_NAME}$")
    set_property(GLOBAL PROPERTY TF_POSE_ROS_GENERATED_PY_DIR "${_tf_pose_ros_apip_PACKAGE_DIR}")
  else()
    _ament_python_install_package(${_tf_pose_ros_package_name} ${ARGN})
  endif()
endmacro()

# Call after rosidl_generate_interfaces() and before ament_python_install_package(${PROJECT_NAME})
# (so that the latter's byte-compile step also sees msg/).
function(tf_pose_ros_install_generated_python_modules)
  get_property(generated GLOBAL PROPERTY TF_POSE_ROS_GENERATED_PY_DIR)
  if(NOT generated)
    message(FATAL_ERROR "tf_pose_ros: rosidl_generator_py did not install its Python modules through "
      "ament_python_install_package() (include cmake/python_package.cmake before "
      "rosidl_generate_interfaces(); has rosidl_generator_py changed?)")
  endif()
  install(DIRECTORY "${generated}/msg"
    DESTINATION "${PYTHON_INSTALL_DIR}/${PROJECT_NAME}"
    PATTERN "*.c" EXCLUDE
    PATTERN "__pycache__" EXCLUDE
    PATTERN "*.pyc" EXCLUDE)
endfunction()
