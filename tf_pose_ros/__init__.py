"""tf_pose_ros: real-time multi-person 2D pose estimation for ROS 2."""

# In a development checkout the source tree comes first on sys.path while the generated interface
# code (msg/ and the typesupport libraries) lives in the installed copy; extend_path merges both
# directories into this package, as catkin devel spaces did.
__path__ = __import__('pkgutil').extend_path(__path__, __name__)

__version__ = '0.1.0'
