"""What both pose_estimator variants (plain and lifecycle) are made of, as steps they call in turn.

The executor only hands frames to a one-slot mailbox per camera; a dedicated thread runs inference
on the newest frames, so callbacks never wait for the network and a slow network drops stale frames
(counted) instead of queueing them. With several cameras (image_topics) the thread infers the
frames that arrive together in one batch (frame_batcher.py). The parts: each camera's state
(camera_input.py, depth pairing in depth_input.py), the network and its swaps (model_slot.py),
publishing a result (result_publisher.py) and /diagnostics (node_diagnostics.py).
"""

from __future__ import annotations

import threading
import time
from typing import List, Optional, Tuple

from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.exceptions import ParameterException
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from visualization_msgs.msg import MarkerArray

from tf_pose_ros.estimator import PoseEstimator
from tf_pose_ros.msg import Persons
from tf_pose_ros.people.smoothing import KeypointSmoother, make_smoother
from tf_pose_ros.ros.adaptive_subscription import AUTO, BEST_EFFORT, AdaptiveSubscription, resolve_topic
from tf_pose_ros.ros.camera_input import CameraInput, Publishers, camera_specs, depth_settings
from tf_pose_ros.ros.hri_output import HriOutput
from tf_pose_ros.ros.image_conversion import (
    ImageConversionError,
    compressed_msg_to_bgr8,
    compressed_problem,
    image_msg_to_bgr8,
    image_problem,
)
from tf_pose_ros.ros.model_slot import ModelSlot
from tf_pose_ros.ros.node_diagnostics import NodeDiagnostics
from tf_pose_ros.ros.node_parameters import PARAMS, PARAMS_BY_NAME, normalize, with_changes, wrong_types
from tf_pose_ros.ros.result_publisher import LOG_THROTTLE_S, FrameTimes, ResultPublisher
from tf_pose_ros.runtime.allocator import building_network
from tf_pose_ros.runtime.warmup import prepare_camera_sizes
from tf_pose_ros.streams.frame_batcher import FrameBatcher, infer_frames
from tf_pose_ros.streams.stats import FAILED, SKIPPED_NO_MODEL, SKIPPED_PAUSED, PipelineStats

NODE_NAME = 'pose_estimator'
#: Seconds between looks at the input topics' publishers (qos_reliability auto, missing publishers).
PUBLISHER_POLL_S = 0.5

#: One frame of a batch: its camera, the message and its monotonic arrival time.
Frame = Tuple[CameraInput, object, float]


class PoseNodeBase:
    """Mixed into an rclpy Node or LifecycleNode: parameters, topics and the inference thread."""

    @property
    def estimator(self) -> Optional[PoseEstimator]:
        """The estimator in use (None while no model is loaded)."""
        return self._model.estimator

    @property
    def cameras(self) -> List[CameraInput]:
        """The node's cameras, in the order of image_topics (one, named '', without image_topics)."""
        return self._cameras

    @property
    def batches(self) -> PipelineStats:
        """With several cameras: the network calls ('batches') and the frames they took ('batched')."""
        return self._batches

    @property
    def hri(self) -> Optional[HriOutput]:
        """The REP-155 body output while hri_output is on and the outputs exist, else None."""
        return self._results.hri

    def camera_topic_name(self, camera: CameraInput) -> str:
        """The fully resolved topic a camera's frames come from (…/compressed with use_compressed)."""
        topic = camera.spec.image_topic + ('/compressed' if self.config['use_compressed'] else '')
        return resolve_topic(self, topic)

    # --- set-up steps, called by the node classes ------------------------------------------------
    def _declare_parameters(self) -> None:
        """Declare every parameter and prepare the state that needs no model and no topic."""
        try:
            for param in PARAMS:
                self.declare_parameter(param.name, param.declared_default(), param.descriptor())
            # An unset one (an empty list, see ParamDef.declared_default) reads as its default.
            self.config = {p.name: normalize(p.name, self.get_parameter_or(p.name, Parameter(p.name, value=p.default))
                                             .value) for p in PARAMS}
            # A text setting ROS read as a number (-p resolution:=0x10) is refused as a bad value is: the node stays
            # up without a network and says why; the parameter keeps its default until set again.
            refused = wrong_types(self.config)
            self.config.update((name, PARAMS_BY_NAME[name].default) for name in refused)
            if refused:
                self.set_parameters([Parameter(name, value=self.config[name]) for name in refused])
            specs = camera_specs(self.config)  # ValueError naming a bad image_topics entry
        except (ParameterException, ValueError):
            super().destroy_node()  # nothing of ours exists yet; leave nothing behind in the context
            raise
        depth = depth_settings(self.config)
        clock = lambda: self.get_clock().now().nanoseconds * 1e-9  # noqa: E731
        self._cameras = [CameraInput(spec, self.config['track_max_age'], depth if spec.depth_topic else None, clock)
                         for spec in specs]
        for camera in self._cameras:
            camera.set_smoother(self._smoother())
        self._batcher = FrameBatcher(len(specs), self.config['batch_size'], self.config['batch_wait'])
        self._batches = PipelineStats()  # network calls ('batches') and the frames they took ('batched')
        self._model = ModelSlot(self.get_logger())
        self._model.refused = refused
        self._results = ResultPublisher(self.config, self.get_logger(), lambda: self.get_clock().now().nanoseconds)
        self._diagnostics = NodeDiagnostics(self, self._model, self._cameras, self._batches, self.config,
                                            self.camera_topic_name, lambda: self._enabled,
                                            lambda: self._batcher.idle_s)
        self._enabled = True
        self._poll_timer = None
        self._worker: Optional[threading.Thread] = None
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)

    def _create_outputs(self, make_publisher) -> None:
        """Each camera's result publishers (made by ``make_publisher``: plain or lifecycle), /diagnostics and its
        timer."""
        for camera in self._cameras:
            camera.attach(Publishers(persons=make_publisher(Persons, camera.output('persons'), 10),
                                     annotated=make_publisher(Image, camera.output('image_annotated'), 1),
                                     markers=make_publisher(MarkerArray, camera.output('markers'), 1),
                                     anonymized=make_publisher(Image, camera.output('image_anonymized'), 1)))
        if self.config['hri_output']:
            self._results.hri = HriOutput(self)
        self._diagnostics.start()

    def _destroy_outputs(self, destroy_publisher) -> None:
        for camera in self._cameras:
            camera.detach(destroy_publisher)
        hri, self._results.hri = self._results.hri, None
        if hri is not None:
            hri.destroy()
        self._diagnostics.stop()

    def _create_inputs(self) -> None:
        """Subscribe to each camera's image topic (and depth and camera_info when it has a depth topic).

        With qos_reliability auto each subscription takes the reliability of the topic's publishers,
        looked at every PUBLISHER_POLL_S, and subscribes again when they change.
        """
        config = self.config
        mode, depth = config['qos_reliability'], config['qos_depth']
        if config['use_compressed']:
            msg_type, self._decode, problem = CompressedImage, compressed_msg_to_bgr8, compressed_problem
        else:
            msg_type, self._decode, problem = Image, image_msg_to_bgr8, image_problem
        for camera in self._cameras:
            camera.problem = problem
            # In a multi-threaded executor (a component container), frames keep arriving in their own
            # group while a parameter change reloads the network.
            image = self._adaptive(camera, msg_type, self.camera_topic_name(camera), camera.on_image, mode, depth,
                                   MutuallyExclusiveCallbackGroup())
            others = []
            if camera.depth is not None:
                spec = camera.spec
                others.append(self._adaptive(camera, Image, spec.depth_topic, camera.depth.on_depth, mode, depth))
                # Calibration is tiny: a fixed choice takes it best effort, which matches any publisher.
                others.append(self._adaptive(camera, CameraInfo, spec.camera_info_topic, camera.depth.on_camera_info,
                                             AUTO if mode == AUTO else BEST_EFFORT, 1))
            camera.subscribed(image, others)
        self._poll_timer = self.create_timer(PUBLISHER_POLL_S, self._poll_publishers)
        self.get_logger().info('listening on %s (qos_reliability %s)' % (
            ', '.join(i.topic_name for c in self._cameras for i in c.subscriptions.all), mode))

    def _adaptive(self, camera, msg_type, topic, callback, mode, depth, group=None) -> AdaptiveSubscription:
        def changed(qos: str) -> None:
            camera.delivery.reset()  # another subscription: its stream's healthy rate is learned anew
            self.get_logger().info('subscribed to %s as %s' % (topic, qos))
        return AdaptiveSubscription(self, msg_type, topic, callback, mode, depth, callback_group=group,
                                    on_incompatible=camera.on_incompatible_qos, on_change=changed)

    def _poll_publishers(self) -> None:
        for camera in self._cameras:
            camera.poll_publishers()

    def _destroy_inputs(self) -> None:
        """Unsubscribe: publishers stop sending us frames."""
        if self._poll_timer is not None:
            self.destroy_timer(self._poll_timer)
            self._poll_timer = None
        for camera in self._cameras:
            camera.unsubscribe()

    def _start_worker(self) -> None:
        # Each worker has slots of its own and ends when they are closed, so a worker still
        # finishing a frame after _stop_worker gave up waiting never meets a newer one.
        self._batcher = FrameBatcher(len(self._cameras), self.config['batch_size'], self.config['batch_wait'],
                                     idle_s=self._batcher.idle_s)
        for camera, slot in zip(self._cameras, self._batcher.slots):
            camera.use_slot(slot)
        worker = threading.Thread(target=self._work, args=(self._batcher,), name='pose_inference', daemon=True)
        worker.start()
        self._worker = worker  # once started: a Ctrl-C during start() leaves no thread for destroy_node to join

    def _stop_worker(self) -> None:
        self._batcher.close()
        if self._worker is not None:
            self._worker.join(timeout=5.0)
            self._worker = None

    def destroy_node(self):
        """Stop the inference thread, close the network, then destroy the node."""
        self._stop_worker()
        self._model.unload()
        return super().destroy_node()

    # --- configuration -------------------------------------------------------------------------
    def _on_set_parameters(self, params) -> SetParametersResult:
        """Validate a parameter change; a new configuration is loaded here, so a bad one is refused."""
        self._model.discard_preloaded()
        changed, reason = with_changes(self.config, params)
        reason = reason or self._model.refusal({p.name for p in params}) or self._model.preload(changed)
        return SetParametersResult(successful=not reason, reason=reason)

    def _apply_parameters(self, params) -> None:
        """Take the accepted values; swap in the network loaded while validating, if any."""
        for param in params:
            self.config[param.name] = normalize(param.name, param.value)
            self._model.refused.pop(param.name, None)
            for camera in self._cameras:
                if param.name == 'track_max_age':
                    camera.set_track_max_age(param.value)
                elif param.name == 'tracking' and not param.value:
                    camera.forget_tracks()
                elif param.name.startswith('smoothing'):
                    camera.set_smoother(self._smoother())  # a track's filter starts anew with new coefficients
        for camera in self._cameras:
            camera.set_depth_settings(depth_settings(self.config))
            camera.delivery.restart_window()  # frames lost while a new network loaded are no transport fault
        if self._model.swap_in_preloaded():
            for camera in self._cameras:
                camera.network_reloaded()

    def _smoother(self) -> Optional[KeypointSmoother]:
        """A fresh keypoint filter of the current smoothing parameters (None: smoothing none)."""
        config = self.config
        return make_smoother(config['smoothing'], config['smoothing_min_cutoff'], config['smoothing_beta'],
                             config['smoothing_d_cutoff'])

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
        # with OpenVINO: 80-300 ms once): paid here, before a camera frame can be waiting. The usual
        # camera shapes are made ready here too, while the executor already subscribes and discovers.
        try:
            with self._model.in_use() as estimator, building_network():
                if estimator is not None:
                    prepare_camera_sizes(estimator)
                    estimator.warm_up_thread()
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

        Published frames are removed from ``frames``, so after an exception the caller counts only
        the rest as failed.
        """
        started = time.monotonic()
        if not self._enabled or self._model.estimator is None:  # checked again under the lock: a cleanup may come
            for camera, _, _ in frames:
                camera.stats.count(SKIPPED_PAUSED if not self._enabled else SKIPPED_NO_MODEL)
            return
        decoded_frames = []
        for camera, msg, arrived in frames:
            try:
                decoded_frames.append((camera, msg, arrived, self._decode(msg)))
            except ImageConversionError as err:
                camera.invalid_frame(str(err))
                self.get_logger().warning('dropped a bad image message: %s' % err,
                                          throttle_duration_sec=LOG_THROTTLE_S)
        if not decoded_frames:
            return
        decoded = time.monotonic()
        with self._model.in_use() as estimator:
            if estimator is None:
                for camera, _, _, _ in decoded_frames:
                    camera.stats.count(SKIPPED_NO_MODEL)
                return
            if len(self._cameras) > 1:
                self._batches.count('batches')
                self._batches.count('batched', len(decoded_frames))
            results = infer_frames(estimator, [image for _, _, _, image in decoded_frames],
                                   faint=self.config['anonymize'])  # the people whose faces are blurred too
            for (camera, msg, arrived, image), (result, began) in zip(decoded_frames, results):
                self._results.publish(camera, msg, image, result, estimator.model,
                                      FrameTimes(arrived=arrived, started=started, decoded=decoded, began=began))
                frames[:] = [frame for frame in frames if frame[1] is not msg]
