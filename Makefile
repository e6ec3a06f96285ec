# Main entry points; each runs the setup first (quick when nothing changed).
VENV ?= .venv
PY := $(VENV)/bin/python
# Keep test and demo traffic on this machine and away from other ROS 2 graphs.
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST
export RMW_IMPLEMENTATION ?= rmw_fastrtps_cpp
# Fast DDS: the executables use config/fastdds_large_frames.xml (shared memory big enough for camera
# frames) unless FASTDDS_DEFAULT_PROFILES_FILE or FASTDDS_BUILTIN_TRANSPORTS is set.

.PHONY: setup demo lint test test-core bench bench-node bench-multicam bench-startup bench-perception clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) -m tf_pose_ros.ros.demo $(ARGS)

# ruff (pyflakes, pycodestyle, isort, bugbear; ruff.toml) and mypy on the core modules (setup.cfg).
lint: setup
	$(VENV)/bin/ruff check tf_pose_ros test launch setup.py
	$(VENV)/bin/mypy

# What CI runs: lint, then every test.
test: lint
	$(PY) -m pytest -q test $(ARGS)

# The core without ROS and without the slow engine tests: seconds, for the edit-test loop.
test-core: setup
	$(PY) -m pytest -q -m "not ros and not slow" test $(ARGS)

bench: setup
	$(PY) -m tf_pose_ros.cli bench $(ARGS)

bench-node: setup
	$(PY) -m tf_pose_ros.ros.node_bench $(ARGS)

# Several cameras: one node with image_topics against one node per camera.
bench-multicam: setup
	$(PY) -m tf_pose_ros.ros.multicam_bench $(ARGS)

# Seconds from starting pose_estimator to its first poses, with a camera already publishing.
bench-startup: setup
	$(PY) -m tf_pose_ros.ros.startup_bench $(ARGS)

bench-perception: setup
	$(PY) -m tf_pose_ros.ros.perception_bench $(ARGS)

clean:
	rm -rf build $(VENV)
