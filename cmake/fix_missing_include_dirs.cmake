# The ROS 2 wheels on PyPI were built in a manylinux container, and the CMake targets they export
# (<pkg>__rosidl_generator_py and friends) still name that container's include directories:
# /opt/python/cp311-cp311/include/python3.11 and .../site-packages/numpy/_core/include. CMake refuses
# to generate build files when an imported target lists an include directory that does not exist.
# This replaces such entries with the Python and NumPy include directories found on this machine
# (rosidl_generator_py runs find_package(Python3 ... Development.Module NumPy)), and drops any
# other missing entry. On a ROS 2 distro every directory exists and nothing changes. Nothing is
# created outside the build tree.

function(_tf_pose_ros_fix_target target)
  get_target_property(dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
  if(NOT dirs)
    return()
  endif()
  set(fixed "")
  set(missing "")
  foreach(dir IN LISTS dirs)
    if(dir MATCHES "^\\$<" OR EXISTS "${dir}")
      list(APPEND fixed "${dir}")
    else()
      list(APPEND missing "${dir}")
      if(dir MATCHES "numpy")
        list(APPEND fixed ${Python3_NumPy_INCLUDE_DIRS})
      elseif(dir MATCHES "/include/python3")
        list(APPEND fixed ${Python3_INCLUDE_DIRS})
      endif()
    endif()
  endforeach()
  if(missing)
    list(REMOVE_DUPLICATES fixed)
    set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${fixed}")
    message(VERBOSE "tf_pose_ros: ${target}: replaced missing include directories ${missing}")
    set_property(GLOBAL APPEND PROPERTY _TF_POSE_ROS_FIXED_TARGETS ${target})
  endif()
endfunction()

function(tf_pose_ros_fix_missing_include_dirs)
  get_property(targets DIRECTORY PROPERTY IMPORTED_TARGETS)
  foreach(target IN LISTS targets)
    _tf_pose_ros_fix_target(${target})
  endforeach()
  get_property(fixed GLOBAL PROPERTY _TF_POSE_ROS_FIXED_TARGETS)
  if(fixed)
    list(LENGTH fixed count)
    message(STATUS "tf_pose_ros: replaced missing include directories of ${count} imported targets "
      "(the ROS 2 wheels' build-machine paths) with ${Python3_INCLUDE_DIRS} ${Python3_NumPy_INCLUDE_DIRS}")
  endif()
endfunction()
