"""tf_pose_ros: real-time multi-person 2D pose estimation for ROS 2 (successor of tf-pose-estimation)."""

# During development the source tree comes first on sys.path (pytest's `pythonpath = .`, or running
# from the checkout), while the generated interface code, tf_pose_ros.msg and the typesupport .so
# extensions, exists only in the installed copy (venv site-packages or a colcon install space).
# extend_path adds every other tf_pose_ros directory on sys.path to this package's __path__, so
# both halves import as one package: the same trick catkin devel spaces used.
__path__ = __import__('pkgutil').extend_path(__path__, __name__)

__version__ = '0.1.0'
