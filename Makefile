# Main entry points; each runs the setup first (quick when nothing changed).
VENV ?= .venv
PY := $(VENV)/bin/python
# Keep test and demo traffic on this machine and away from other ROS 2 graphs.
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST
export RMW_IMPLEMENTATION ?= rmw_fastrtps_cpp
# Fast DDS: the executables use config/fastdds_large_frames.xml (shared memory big enough for camera
# frames) unless FASTDDS_DEFAULT_PROFILES_FILE or FASTDDS_BUILTIN_TRANSPORTS is set.

.PHONY: setup setup-torch demo lint test test-core bench bench-gpu bench-node bench-multicam bench-startup bench-perception bench-bag bench-soak eval docs-image clean

setup:
	@bash scripts/setup.sh

# The optional PyTorch engine (backend torch; docs/engines.md, "GPU"): requirements-torch.lock on top of setup
# (again after requirements.lock changed: it pins an older setuptools than torch needs).
setup-torch: setup
	@want="$$(cat requirements.lock requirements-torch.lock | sha256sum | cut -d' ' -f1)"; \
	if [ "$$want" != "$$(cat $(VENV)/.requirements-torch.sha256 2>/dev/null)" ]; then \
	  echo "[setup-torch] installing requirements-torch.lock"; \
	  $(PY) -m pip install --disable-pip-version-check -q -r requirements-torch.lock \
	    && echo "$$want" > $(VENV)/.requirements-torch.sha256; \
	else echo "[setup-torch] up to date"; fi

# The installed executable, as a user starts it: it loads the compiled code that setup's warm-up cached
# beside the installed sources (the source tree's modules would compile their own copy first).
demo: setup
	$(VENV)/bin/tf_pose_demo $(ARGS)

# ruff (pyflakes, pycodestyle, isort, bugbear; ruff.toml) and mypy on the core modules (setup.cfg).
lint: setup
	$(VENV)/bin/ruff check tf_pose_ros test launch setup.py
	$(VENV)/bin/mypy

# What CI runs: lint, then every test (the PyTorch engine's too, on the CPU).
test: lint setup-torch
	$(PY) -m pytest -q test $(ARGS)

# The core without ROS and without the slow engine tests: seconds, for the edit-test loop.
test-core: setup
	$(PY) -m pytest -q -m "not ros and not slow" test $(ARGS)

bench: setup
	$(PY) -m tf_pose_ros.cli bench $(ARGS)

# COCO keypoint AP on the development subset of val2017 beside the repository (../shared/coco_val_dev),
# with the default settings; ARGS adds flags, e.g. ARGS="--precision bf16 --compare 'decoder=original'".
COCO_DEV ?= ../shared/coco_val_dev
eval: setup
	@test -f $(COCO_DEV)/person_keypoints.json -a -d $(COCO_DEV)/images || \
		{ echo "make eval: no COCO development set at $(COCO_DEV) (person_keypoints.json and images/);" \
		       "set COCO_DEV=DIR" >&2; exit 1; }
	$(VENV)/bin/tf-pose-ros eval --annotations $(COCO_DEV)/person_keypoints.json --images $(COCO_DEV)/images \
		--no-progress $(ARGS)

# Network and whole pipeline on the GPU with the torch engine (ARGS=--device cpu to try it on a CPU).
bench-gpu: setup-torch
	$(PY) -m tf_pose_ros.benchmarks.gpu_bench $(ARGS)

bench-node: setup
	$(PY) -m tf_pose_ros.benchmarks.node_bench $(ARGS)

# Several cameras: one node with image_topics against one node per camera.
bench-multicam: setup
	$(PY) -m tf_pose_ros.benchmarks.multicam_bench $(ARGS)

# Seconds from starting pose_estimator to its first poses, with a camera already publishing.
bench-startup: setup
	$(PY) -m tf_pose_ros.benchmarks.startup_bench $(ARGS)

bench-perception: setup
	$(PY) -m tf_pose_ros.benchmarks.perception_bench $(ARGS)

# The node as its own process against a stand-in camera for minutes (default 30), a row a minute; exits 1 when a
# target is missed. ARGS="--driver-profile", "--size 1280x720", "--faults" (docs/benchmarks.md, "Soak").
bench-soak: setup
	$(PY) -m tf_pose_ros.benchmarks.soak_bench $(ARGS)

# The bag command's frames per second against tf-pose-ros bench's, raw and compressed 640x480 topics, interleaved.
bench-bag: setup
	$(PY) -m tf_pose_ros.benchmarks.bag_bench $(ARGS)

# The README's picture, docs/images/demo.jpg: what `infer` draws on the bundled photo (test_docs.py checks it).
docs-image: setup
	$(PY) scripts/docs_image.py

clean:
	rm -rf build $(VENV)
