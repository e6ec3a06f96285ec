"""ROS 2 side of tf_pose_ros: the pose_estimator and image_source nodes and their helpers."""
