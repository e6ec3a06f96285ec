# The ROS 2 wheels on PyPI were built in a manylinux container, and the CMake targets they export
# still name that container's Python include directory (/opt/python/cp311-cp311/include/python3.11).
# CMake refuses to generate build files when a target lists an include directory that does not
# exist. This replaces such entries with the Python include directory found here. On a normal ROS 2
# install every directory exists and nothing changes.

function(_tf_pose_ros_fix_target target)
  get_target_property(dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
  if(NOT dirs)
    return()
  endif()
  set(fixed "")
  set(changed FALSE)
  foreach(dir IN LISTS dirs)
    if(dir MATCHES "^\\$<" OR EXISTS "${dir}")
      list(APPEND fixed "${dir}")
    elseif(dir MATCHES "include/python3")
      list(APPEND fixed ${Python3_INCLUDE_DIRS})
      set(changed TRUE)
    else()
      set(changed TRUE)  # a missing non-Python directory: dropping it is all CMake needs
    endif()
  endforeach()
  if(changed)
    list(REMOVE_DUPLICATES fixed)
    set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${fixed}")
    message(STATUS "tf_pose_ros: replaced missing include directories of ${target}")
  endif()
endfunction()

function(tf_pose_ros_drop_missing_include_dirs)
  get_property(targets DIRECTORY PROPERTY IMPORTED_TARGETS)
  foreach(target IN LISTS targets)
    _tf_pose_ros_fix_target(${target})
  endforeach()
endfunction()
