# One Python package from our sources plus the generated message modules.
#
# rosidl_generator_py installs the generated modules as Python package ${PROJECT_NAME} through
# ament_python_install_package(), and ament_cmake_python accepts each package name once, so a
# package with messages cannot install its own Python code that way too (ros2/rosidl_python#141).
# Here the generator's call only records where the generated modules are; the sources and the
# generated msg/ modules are merged in the build tree, and one ament_python_install_package() call
# installs the result, console scripts from setup.cfg included.

# Include before rosidl_generate_interfaces(). CMake keeps the original command as
# _ament_python_install_package. The generator installs its extension modules into
# PYTHON_INSTALL_DIR, which the skipped call would have defined: define it now.
if(COMMAND ament_get_python_install_dir)
  ament_get_python_install_dir(_tf_pose_ros_python_install_dir)
endif()

macro(ament_python_install_package package_name)
  cmake_parse_arguments(_tf_pose_ros_args "" "PACKAGE_DIR" "" ${ARGN})
  if(_tf_pose_ros_args_PACKAGE_DIR MATCHES "/rosidl_generator_py/")
    set(TF_POSE_ROS_GENERATED_PY_DIR "${_tf_pose_ros_args_PACKAGE_DIR}")
  else()
    _ament_python_install_package(${package_name} ${ARGN})
  endif()
endmacro()

# Call after rosidl_generate_interfaces(); extra arguments go to ament_python_install_package().
function(tf_pose_ros_install_python_package)
  if(NOT TF_POSE_ROS_GENERATED_PY_DIR)
    message(FATAL_ERROR "tf_pose_ros_install_python_package: no generated Python modules recorded")
  endif()
  set(source "${CMAKE_CURRENT_SOURCE_DIR}/${PROJECT_NAME}")
  set(merged "${CMAKE_CURRENT_BINARY_DIR}/python_package/${PROJECT_NAME}")
  # ament_python_install_package() checks for __init__.py while configuring.
  file(MAKE_DIRECTORY "${merged}")
  file(COPY "${source}/__init__.py" DESTINATION "${merged}")
  add_custom_target(${PROJECT_NAME}_merge_python ALL
    COMMAND ${CMAKE_COMMAND} -E copy_directory "${source}" "${merged}"
    COMMAND ${CMAKE_COMMAND} -E copy_directory "${TF_POSE_ROS_GENERATED_PY_DIR}/msg" "${merged}/msg"
    COMMENT "Merging the ${PROJECT_NAME} sources with the generated message modules")
  add_dependencies(${PROJECT_NAME}_merge_python ${PROJECT_NAME}__py)
  ament_python_install_package(${PROJECT_NAME} PACKAGE_DIR "${merged}" ${ARGN})
  foreach(target ament_cmake_python_copy_${PROJECT_NAME} ament_cmake_python_symlink_${PROJECT_NAME})
    if(TARGET ${target})
      add_dependencies(${target} ${PROJECT_NAME}_merge_python)
    endif()
  endforeach()
endfunction()
