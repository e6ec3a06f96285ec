"""What both pose_estimator variants (plain and lifecycle) are made of, as steps they call in turn.

The executor only hands frames to a one-slot mailbox per camera; a dedicated thread runs inference
on the newest frames, so callbacks never wait for the network and a slow network drops stale frames
(counted) instead of queueing them. With several cameras (image_topics) the thread infers the
frames that arrive together in one batch (frame_batcher.py); each camera keeps its own counters,
tracker, depth pairing and outputs (camera_input.py). Depth frames and camera_info go to a camera's
DepthInput, which the inference thread asks for the depth frame nearest each colour frame.
"""

from __future__ import annotations

import threading
import time
from typing import List, Optional, Tuple

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.exceptions import ParameterException
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from visualization_msgs.msg import MarkerArray

from tf_pose_ros.config import format_resolution
from tf_pose_ros.drawing import draw_persons
from tf_pose_ros.estimator import PoseEstimator
from tf_pose_ros.msg import Persons
from tf_pose_ros.ros.adaptive_subscription import AUTO, BEST_EFFORT, AdaptiveSubscription, resolve_topic
from tf_pose_ros.ros.camera_input import CameraInput, CameraSpec, parse_cameras
from tf_pose_ros.ros.depth_input import DepthInput, DepthSettings, camera_info_topic_for, stamp_ns
from tf_pose_ros.ros.diagnostics import pose_status
from tf_pose_ros.ros.fastdds_profile import profile_path, use_large_frame_transport
from tf_pose_ros.ros.image_conversion import (
    ImageConversionError,
    bgr8_to_image_msg,
    compressed_msg_to_bgr8,
    image_msg_to_bgr8,
)
from tf_pose_ros.ros.log_bridge import forward_package_logging
from tf_pose_ros.ros.markers import skeleton_markers
from tf_pose_ros.ros.messages import persons_msg
from tf_pose_ros.ros.node_parameters import PARAMS, cross_check, estimator_config, normalize, validate
from tf_pose_ros.ros.spinning import report_startup_failure, spin_until_shutdown, usage, wants_help
from tf_pose_ros.runtime.allocator import keep_freed_memory, release_freed_memory
from tf_pose_ros.runtime.compile_cache import cache_report
from tf_pose_ros.runtime.gc_policy import freeze_loaded_objects
from tf_pose_ros.runtime.warmup import warm_up_tracking, warmup_image
from tf_pose_ros.streams.frame_batcher import FrameBatcher, infer_frames
from tf_pose_ros.streams.frame_slot import LatestFrameSlot
from tf_pose_ros.streams.stats import (
    FAILED,
    INVALID,
    PROCESSED,
    SKIPPED_NO_MODEL,
    SKIPPED_PAUSED,
    WITH_DEPTH,
    WITHOUT_DEPTH,
    PipelineStats,
)

LOG_THROTTLE_S = 5.0
NODE_NAME = 'pose_estimator'
#: Seconds between looks at the input topics' publishers (qos_reliability auto, missing publishers).
PUBLISHER_POLL_S = 0.5


def _refused(reason: str) -> SetParametersResult:
    return SetParametersResult(successful=False, reason=reason)


def describe_estimator(estimator: PoseEstimator) -> str:
    """One line for the log: model, input size, device, engine, precision, preset, load time."""
    size = format_resolution(estimator.resolution)
    if getattr(estimator, 'keep_aspect', False):
        size = "%s pixels in each frame's aspect ratio (first frame decides)" % size
    return '%s at %s on %s (%s, %s, preset %s) in %.2f s (network %.2f s, warm-up frame %.2f s)' % (
        estimator.model, size, estimator.device, estimator.backend, estimator.precision,
        estimator.config.preset, estimator.load_seconds, estimator.network_seconds, estimator.warmup_seconds)


def depth_settings(config) -> DepthSettings:
    """The depth parameters of a node configuration."""
    return DepthSettings(scale=config['depth_scale'], window=config['depth_window'], slop_s=config['depth_slop'],
                         min_m=config['depth_min'], max_m=config['depth_max'])


def camera_specs(config) -> List[CameraSpec]:
    """The node's cameras: those of image_topics, or the one camera of image_topic (named '')."""
    if config['image_topics']:
        return parse_cameras(config['image_topics'], config['depth_topics'])
    info = config['camera_info_topic'] or camera_info_topic_for(config['image_topic'])
    if not config['depth_topic']:
        info = ''
    return [CameraSpec('', config['image_topic'], config['depth_topic'], info)]


#: One frame of a batch: its camera, the message, its arrival time and (once decoded) the image.
Frame = Tuple[CameraInput, object, float]


class PoseNodeCore:
    """Mixed into an rclpy Node or LifecycleNode: parameters, model, topics and the inference thread."""

    @property
    def estimator(self) -> Optional[PoseEstimator]:
        """The estimator in use (None while no model is loaded)."""
        return self._estimator

    @property
    def cameras(self) -> List[CameraInput]:
        """The node's cameras, in the order of image_topics (one, named '', without image_topics)."""
        return self._cameras

    # The first camera's parts: with one camera (image_topic) they are the node's.
    @property
    def stats(self) -> PipelineStats:
        """The first camera's counters and figures (each camera's: ``cameras[i].stats``)."""
        return self._cameras[0].stats

    @property
    def _image_input(self) -> Optional[AdaptiveSubscription]:
        return self._cameras[0].image_input

    @property
    def _slot(self) -> LatestFrameSlot:
        return self._cameras[0].slot

    @property
    def persons_pub(self):
        """The first camera's Persons publisher."""
        return self._cameras[0].persons_pub

    @property
    def annotated_pub(self):
        """The first camera's annotated image publisher."""
        return self._cameras[0].annotated_pub

    @property
    def markers_pub(self):
        """The first camera's markers publisher."""
        return self._cameras[0].markers_pub

    @property
    def subscription(self):
        """The image subscription (None while not subscribed, e.g. auto QoS before a publisher appears)."""
        return self._image_input.subscription if self._image_input is not None else None

    def camera_topic_name(self, camera: CameraInput) -> str:
        """The fully resolved topic a camera's frames come from (…/compressed with use_compressed)."""
        topic = camera.spec.image_topic + ('/compressed' if self.config['use_compressed'] else '')
        return resolve_topic(self, topic)

    @property
    def image_topic_name(self) -> str:
        """The fully resolved topic the (first) camera's frames come from (…/compressed with use_compressed)."""
        return self.camera_topic_name(self._cameras[0])

    @property
    def depth_input(self) -> Optional[DepthInput]:
        """The (first) camera's depth frames and calibration for 3D keypoints (None without depth)."""
        return self._cameras[0].depth

    # --- set-up steps, called by the node classes ------------------------------------------------
    def _declare_parameters(self) -> None:
        """Declare every parameter and prepare the state that needs no model and no topic."""
        try:
            for param in PARAMS:
                self.declare_parameter(param.name, param.declared_default(), param.descriptor())
            # An unset one (an empty list, see ParamDef.declared_default) reads as its default.
            self.config = {p.name: normalize(p.name, self.get_parameter_or(p.name, Parameter(p.name, value=p.default))
                                             .value) for p in PARAMS}
            specs = camera_specs(self.config)  # ValueError naming a bad image_topics entry
        except (ParameterException, ValueError):
            super().destroy_node()  # nothing of ours exists yet; leave nothing behind in the context
            raise
        depth = depth_settings(self.config)
        self._cameras = [CameraInput(spec, self.config['track_max_age'], depth if spec.depth_topic else None)
                         for spec in specs]
        self._batcher = FrameBatcher(len(specs), self.config['batch_size'], self.config['batch_wait'])
        self._batches = PipelineStats()  # network calls ('batches') and the frames they took ('batched')
        self._estimator: Optional[PoseEstimator] = None
        # Held while a frame is inferred, so a reload can close the old network once no frame uses it.
        self._estimator_lock = threading.Lock()
        self._load_error = 'not configured'
        self._enabled = True
        self._loads_models = True  # False while a lifecycle node is unconfigured
        self._pending: Optional[PoseEstimator] = None  # loaded by validation, taken by the post-set step
        self._poll_timer = None
        self._first_frame_logged = False
        self._worker: Optional[threading.Thread] = None
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)

    def _load_estimator(self) -> bool:
        """Load the configured network (closing any loaded one); on failure log why and keep going."""
        self._unload_estimator()
        try:
            bad = [r for r in (validate(name, value) for name, value in self.config.items()) if r]
            bad += [r for r in (cross_check(self.config),) if r]
            if bad:
                raise ValueError('; '.join(bad))
            estimator = PoseEstimator.from_config(estimator_config(self.config))
        except Exception as err:  # the node stays up so a parameter change can fix the model
            self._load_error = str(err)
            self.get_logger().error('no model loaded: %s' % err)
            return False
        self._swap_estimator(estimator)
        self.get_logger().info('loaded %s' % describe_estimator(estimator))
        self.get_logger().info(cache_report())
        if self.config['tracking']:  # its first update imports the assignment solver: not on a camera frame
            warm_up_tracking(estimator.warmup_persons)
        return True

    def _unload_estimator(self) -> None:
        """Close the network and give its memory back."""
        self._swap_estimator(None, 'not configured')

    def _swap_estimator(self, estimator: Optional[PoseEstimator], load_error: str = '') -> None:
        """Put ``estimator`` (or None) in place once no frame uses the old one; close the old one."""
        with self._estimator_lock:
            old, self._estimator, self._load_error = self._estimator, estimator, load_error
        if old is None and estimator is None:
            return
        if old is not None:
            old.close()
        freeze_loaded_objects()  # finds the old network's cycles, then hides the new one
        if old is not None:
            release_freed_memory()  # the old network's buffers, kept by the allocator otherwise

    def _create_outputs(self, make_publisher) -> None:
        """Each camera's result publishers (made by ``make_publisher``: plain or lifecycle), /diagnostics and its
        timer."""
        for camera in self._cameras:
            camera.persons_pub = make_publisher(Persons, camera.output('persons'), 10)
            camera.annotated_pub = make_publisher(Image, camera.output('image_annotated'), 1)
            camera.markers_pub = make_publisher(MarkerArray, camera.output('markers'), 1)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._diagnostics_timer = self.create_timer(self.config['diagnostics_period'], self._publish_diagnostics)

    def _destroy_outputs(self, destroy_publisher) -> None:
        for camera in self._cameras:
            for publisher in (camera.persons_pub, camera.annotated_pub, camera.markers_pub):
                destroy_publisher(publisher)
            camera.persons_pub = camera.annotated_pub = camera.markers_pub = None
        self.destroy_publisher(self.diagnostics_pub)
        self.destroy_timer(self._diagnostics_timer)

    def _create_inputs(self) -> None:
        """Subscribe to each camera's image topic (and depth and camera_info when it has a depth topic).

        With qos_reliability auto each subscription takes the reliability of the topic's publishers,
        looked at every PUBLISHER_POLL_S, and subscribes again when they change.
        """
        config = self.config
        mode, depth = config['qos_reliability'], config['qos_depth']
        if config['use_compressed']:
            msg_type, self._decode = CompressedImage, compressed_msg_to_bgr8
        else:
            msg_type, self._decode = Image, image_msg_to_bgr8
        for camera in self._cameras:
            # In a multi-threaded executor (a component container), frames keep arriving in their own
            # group while a parameter change reloads the network.
            camera.image_input = self._adaptive(camera, msg_type, self.camera_topic_name(camera), camera.on_image,
                                                mode, depth, MutuallyExclusiveCallbackGroup())
            camera.inputs = [camera.image_input]
            if camera.depth is not None:
                spec = camera.spec
                camera.inputs.append(self._adaptive(camera, Image, spec.depth_topic, camera.depth.on_depth, mode,
                                                    depth))
                # Calibration is tiny: a fixed choice takes it best effort, which matches any publisher.
                camera.inputs.append(self._adaptive(camera, CameraInfo, spec.camera_info_topic,
                                                    camera.depth.on_camera_info,
                                                    AUTO if mode == AUTO else BEST_EFFORT, 1))
        self._poll_timer = self.create_timer(PUBLISHER_POLL_S, self._poll_publishers)
        self.get_logger().info('listening on %s (qos_reliability %s)' % (
            ', '.join(i.topic_name for c in self._cameras for i in c.inputs), mode))

    def _adaptive(self, camera, msg_type, topic, callback, mode, depth, group=None) -> AdaptiveSubscription:
        def changed(qos: str) -> None:
            self.get_logger().info('subscribed to %s as %s' % (topic, qos))
        return AdaptiveSubscription(self, msg_type, topic, callback, mode, depth, callback_group=group,
                                    on_incompatible=camera.on_incompatible_qos, on_change=changed)

    def _poll_publishers(self) -> None:
        for camera in self._cameras:
            for adaptive in camera.inputs:
                adaptive.poll()

    def _destroy_inputs(self) -> None:
        """Unsubscribe: publishers stop sending us frames."""
        if self._poll_timer is not None:
            self.destroy_timer(self._poll_timer)
            self._poll_timer = None
        for camera in self._cameras:
            for adaptive in camera.inputs:
                adaptive.destroy()
            camera.inputs, camera.image_input = [], None
            if camera.depth is not None:
                camera.depth.reset()

    def _start_worker(self) -> None:
        # Each worker has slots of its own and ends when they are closed, so a worker still
        # finishing a frame after _stop_worker gave up waiting never meets a newer one.
        self._batcher = FrameBatcher(len(self._cameras), self.config['batch_size'], self.config['batch_wait'])
        for camera, slot in zip(self._cameras, self._batcher.slots):
            camera.slot = slot
        self._worker = threading.Thread(target=self._work, args=(self._batcher,), name='pose_inference',
                                        daemon=True)
        self._worker.start()

    def _stop_worker(self) -> None:
        self._batcher.close()
        if self._worker is not None:
            self._worker.join(timeout=5.0)
            self._worker = None

    def destroy_node(self):
        """Stop the inference thread, close the network, then destroy the node."""
        self._stop_worker()
        self._unload_estimator()
        return super().destroy_node()

    # --- configuration -------------------------------------------------------------------------
    def _on_set_parameters(self, params) -> SetParametersResult:
        """Validate a parameter change; a new configuration is loaded here, so a bad one is refused."""
        if self._pending is not None:  # validated earlier, then refused elsewhere: never applied
            self._pending.close()
            self._pending = None
        new_config = dict(self.config)
        for param in params:
            reason = validate(param.name, param.value)
            if reason:
                return _refused(reason)
            new_config[param.name] = normalize(param.name, param.value)
        reason = cross_check(new_config)
        if reason:
            return _refused(reason)
        try:
            wanted = estimator_config(new_config)
        except ValueError as err:
            return _refused(str(err))
        running = self._estimator.config if self._estimator is not None else None
        if wanted != running and self._loads_models:
            try:
                self._pending = PoseEstimator.from_config(wanted)
            except Exception as err:  # a model that does not load keeps the running one
                return _refused('cannot load the new configuration: %s' % err)
        return SetParametersResult(successful=True)

    def _apply_parameters(self, params) -> None:
        """Take the accepted values; swap in the network loaded while validating, if any."""
        for param in params:
            self.config[param.name] = normalize(param.name, param.value)
            for camera in self._cameras:
                if param.name == 'track_max_age':
                    camera.tracker.max_age = param.value
                elif param.name == 'tracking' and not param.value:
                    camera.reset_tracker = True  # back on later, nobody is matched to an old sighting
        for camera in self._cameras:
            if camera.depth is not None:
                camera.depth.settings = depth_settings(self.config)
        estimator, self._pending = self._pending, None
        if estimator is not None:
            self._swap_estimator(estimator)
            self.get_logger().info('reloaded %s' % describe_estimator(estimator))

    # Every refusal is logged here, rclpy's own (read-only, range, type) as well as ours.
    def set_parameters(self, parameter_list):
        """rclpy's set_parameters, with refused values logged."""
        results = super().set_parameters(parameter_list)
        for param, result in zip(parameter_list, results):
            self._log_refusal([param], result)
        return results

    def set_parameters_atomically(self, parameter_list):
        """rclpy's set_parameters_atomically (what `ros2 param set` calls), with refusals logged."""
        result = super().set_parameters_atomically(parameter_list)
        self._log_refusal(parameter_list, result)
        return result

    def _log_refusal(self, params, result) -> None:
        if not result.successful:
            self.get_logger().warning('rejected %s: %s' % (
                ', '.join('%s=%r' % (p.name, p.value) for p in params), result.reason))

    # --- frames ----------------------------------------------------------------------------------
    def _work(self, batcher: FrameBatcher) -> None:
        # An engine's first call from a new thread sets up that thread's share of its pool (measured
        # with OpenVINO: 80-300 ms once): paid here, before a camera frame can be waiting.
        try:
            with self._estimator_lock:
                if self._estimator is not None:
                    self._estimator.infer(warmup_image())
        except Exception as err:  # the first frame pays instead; the thread must start regardless
            self.get_logger().warning('warm-up of the inference thread failed: %s' % err)
        while not batcher.closed and self.context.ok():
            batch = batcher.take(timeout=0.2)
            if not batch:
                continue
            frames = [(self._cameras[index], msg, arrived) for index, msg, arrived in batch]
            try:
                self._process(frames)
            except Exception as err:  # the thread must outlive any one frame
                if not self.context.ok():
                    return  # shutting down (Ctrl-C): publishers are gone, nothing to report
                for camera, _, _ in frames:  # those not published before the failure
                    camera.stats.count(FAILED)
                self.get_logger().error('frame failed: %s' % err, throttle_duration_sec=LOG_THROTTLE_S)

    def _process(self, frames: List[Frame]) -> None:
        """Infer the frames of one batch (one per camera) and publish each camera's people.

        A frame's arrival time is monotonic. Published frames are removed from ``frames``, so after
        an exception the caller counts only the rest as failed.
        """
        started = time.monotonic()
        if not self._enabled or self._estimator is None:  # checked again under the lock: a cleanup may come
            for camera, _, _ in frames:
                camera.stats.count(SKIPPED_PAUSED if not self._enabled else SKIPPED_NO_MODEL)
            return
        decoded_frames = []
        for camera, msg, arrived in frames:
            try:
                decoded_frames.append((camera, msg, arrived, self._decode(msg)))
            except ImageConversionError as err:
                camera.invalid_reason = str(err)
                camera.stats.count(INVALID)
                self.get_logger().warning('dropped a bad image message: %s' % err,
                                          throttle_duration_sec=LOG_THROTTLE_S)
        if not decoded_frames:
            return
        decoded = time.monotonic()
        with self._estimator_lock:
            estimator = self._estimator
            if estimator is None:
                for camera, _, _, _ in decoded_frames:
                    camera.stats.count(SKIPPED_NO_MODEL)
                return
            if len(self._cameras) > 1:
                self._batches.count('batches')
                self._batches.count('batched', len(decoded_frames))
            results = infer_frames(estimator, [image for _, _, _, image in decoded_frames])
            for (camera, msg, arrived, image), (result, began) in zip(decoded_frames, results):
                self._publish(camera, msg, image, result, estimator.model,
                              {'arrived': arrived, 'started': started, 'decoded': decoded, 'began': began})
                frames[:] = [frame for frame in frames if frame[1] is not msg]

    def _publish(self, camera: CameraInput, msg, image, result, model: str, times) -> None:
        """Track, lift into 3D and publish one camera's result; record its latency and where it went.

        ``times``: monotonic arrival, start of the batch, end of decoding, start of its network call.
        """
        inferred = time.monotonic()
        config = self.config
        if camera.reset_tracker:
            camera.reset_tracker = False
            camera.tracker.reset()
        ids = camera.tracker.update(result.persons) if config['tracking'] else None
        positions = self._lift(camera, msg.header, result) if camera.depth is not None else None
        persons = persons_msg(result, msg.header, model, config['min_person_score'],
                              config['min_keypoint_score'], ids=ids, positions=positions)
        # Counted just before publishing, so a subscriber never sees a result the counters lack.
        camera.stats.count(PROCESSED)
        now = time.monotonic()
        arrived, started, decoded, began = times['arrived'], times['started'], times['decoded'], times['began']
        latency = (self.get_clock().now().nanoseconds - stamp_ns(msg.header)) * 1e-9
        # Earlier frames of the batch inferred one by one count as waiting (began > decoded).
        split = {'transport': latency - (now - arrived), 'wait': started - arrived + (began - decoded),
                 'decode': decoded - started, 'pipeline': inferred - began, 'message': now - inferred}
        camera.stats.record(latency, now - began + decoded - started, now=now, split=split)
        if not self._first_frame_logged:  # what a fresh start's first frame cost, for `make bench-startup`
            self._first_frame_logged = True
            self.get_logger().info('first frame: %s; network %.0f ms' % (
                ', '.join('%s %.0f ms' % (k, v * 1e3) for k, v in split.items()), result.timings_ms['network']))
        camera.persons_pub.publish(persons)
        if camera.depth is not None and config['publish_markers'] and camera.markers_pub.get_subscription_count() > 0:
            camera.markers_pub.publish(skeleton_markers(persons, config['marker_lifetime']))
        if config['publish_annotated'] and camera.annotated_pub.get_subscription_count() > 0:
            camera.annotated_pub.publish(bgr8_to_image_msg(draw_persons(image, result.persons, copy=False),
                                                           msg.header))

    def _lift(self, camera: CameraInput, header, result):
        """3D positions of the result's keypoints from the paired depth frame; None (counted) without."""
        lifted = camera.depth.lift(header, result.image_size, result.persons)
        if lifted.warning:
            self.get_logger().warning(lifted.warning, throttle_duration_sec=LOG_THROTTLE_S)
        if lifted.positions is None:
            camera.depth_problem = lifted.problem  # before the count: a report seeing the count has the reason
            camera.stats.count(WITHOUT_DEPTH)
            self.get_logger().warning('no 3D keypoints: %s' % lifted.problem, throttle_duration_sec=LOG_THROTTLE_S)
        else:
            camera.stats.count(WITH_DEPTH)
        return lifted.positions

    # --- diagnostics -----------------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        estimator = self._estimator
        settings = {'model': self.config['model'], 'device': getattr(estimator, 'device', 'none'),
                    'enabled': 'true' if self._enabled else 'false',
                    'backend': getattr(estimator, 'backend', 'none'),
                    'precision': getattr(estimator, 'precision', 'none'),
                    'resolution': self.config['resolution'] or 'model default',
                    'input': format_resolution(estimator.last_input) if estimator is not None else 'none',
                    'preset': self.config['preset'],
                    'decoder': self.config['decoder'],
                    'upsample_ratio': '%g' % getattr(estimator, 'upsample_ratio', self.config['upsample_ratio'])}
        if len(self._cameras) > 1:  # shared by the cameras: network calls and the frames they took
            batches = self._batches.snapshot()
            settings.update(batches='%d' % batches.get('batches', 0), batched='%d' % batches.get('batched', 0),
                            batch_size=str(self.config['batch_size']), batch_wait='%g' % self.config['batch_wait'])
        array = DiagnosticArray(status=[self._camera_status(camera, settings) for camera in self._cameras])
        array.header.stamp = self.get_clock().now().to_msg()
        self.diagnostics_pub.publish(array)

    def _camera_status(self, camera: CameraInput, shared):
        """One camera's /diagnostics status: the shared settings, its input, counters and figures."""
        settings = dict(shared, depth=camera.spec.depth_topic or 'off', image_topic=self.camera_topic_name(camera),
                        qos=camera.image_input.describe() if camera.image_input is not None else 'not subscribed',
                        # after the keys that were there before it: readers of the array by position keep working
                        interpolation=getattr(self._estimator, 'interpolation', self.config['interpolation']))
        name = '%s: pose estimation' % self.get_fully_qualified_name()
        if camera.name:
            settings['camera'] = camera.name
            name += ' %s' % camera.name
        figures = camera.stats.snapshot()
        warnings = camera.input_warnings(figures, self._image_topics_with_publishers, str(profile_path() or ''),
                                         self.get_logger().warning)
        status, camera.last_problems = pose_status(
            name, figures, settings, self._load_error if self._estimator is None else None, camera.last_problems,
            camera.slot.period, camera.depth_report(figures), warnings)
        return status

    def _image_topics_with_publishers(self) -> List[str]:
        """'topic (node, ...)' for every image topic of the graph that has publishers."""
        wanted = 'sensor_msgs/msg/CompressedImage' if self.config['use_compressed'] else 'sensor_msgs/msg/Image'
        found = []
        for topic, types in self.get_topic_names_and_types():
            if wanted in types:
                nodes = sorted({i.node_name for i in self.get_publishers_info_by_topic(topic)
                                if (i.node_name, i.node_namespace) != (self.get_name(), self.get_namespace())})
                if nodes:
                    found.append('%s (%s)' % (topic, ', '.join(nodes)))
        return found


def run_node(node_class, program: str, description: str, args=None) -> int:
    """Start ``node_class`` as the executable ``program`` and spin it until shutdown."""
    if wants_help(args):
        print(usage(program, description, ((p.name, p.default, p.description) for p in PARAMS)))
        return 0
    use_large_frame_transport()  # before rclpy.init: Fast DDS reads it then
    rclpy.init(args=args)
    keep_freed_memory()  # frames are processed in a thread of their own
    forward_package_logging(rclpy.logging.get_logger(program))  # e.g. a first-use conversion's progress
    try:
        node = node_class()
    except Exception as err:  # e.g. upsample_ratio:=4 where a float is declared, or a bad topic name
        return report_startup_failure(program, err)
    # A single-threaded executor: with rclpy's MultiThreadedExecutor a third of a 30 Hz stream never
    # reached the callback while inference ran (measured with node_bench); a reload pauses intake instead.
    return spin_until_shutdown(node)
