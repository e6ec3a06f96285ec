"""The pose node's /diagnostics: one status per camera, each with the shared settings and its own input.

Readers index a status's key/values by position, so the keys keep their order: the model settings,
batching (several cameras), the camera's input, then the keys added later (interpolation, the network's
input size, the preset), the camera's name (several cameras), then pose_status's counters and figures.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from diagnostic_msgs.msg import DiagnosticArray

from tf_pose_ros.config import format_resolutions
from tf_pose_ros.ros.camera_input import CameraInput
from tf_pose_ros.ros.diagnostics import pose_status
from tf_pose_ros.ros.fastdds_profile import profile_path
from tf_pose_ros.ros.model_slot import ModelSlot
from tf_pose_ros.streams.stats import IDLE, PipelineStats


@dataclass(frozen=True)
class ModelSettings:
    """What every camera's status says about the network: the estimator's values, the configured ones without."""

    model: str
    device: str
    enabled: str
    backend: str
    precision: str
    resolution: str
    decoder: str
    upsample_ratio: str
    # Reported after the camera's input (see the module docstring):
    interpolation: str
    input: str  # the network input(s) of the latest frame, one per scale (with keep_aspect in the frame's shape)
    preset: str

    @classmethod
    def of(cls, estimator, config, enabled: bool) -> 'ModelSettings':
        return cls(model=config['model'], device=getattr(estimator, 'device', 'none'),
                   enabled='true' if enabled else 'false', backend=getattr(estimator, 'backend', 'none'),
                   precision=getattr(estimator, 'precision', 'none'),
                   resolution=config['resolution'] or 'model default', decoder=config['decoder'],
                   upsample_ratio='%g' % getattr(estimator, 'upsample_ratio', config['upsample_ratio']),
                   interpolation=getattr(estimator, 'interpolation', config['interpolation']),
                   input=format_resolutions(estimator.last_sizes) if estimator is not None else 'none',
                   preset=config['preset'])


@dataclass(frozen=True)
class Batching:
    """Shared by several cameras: the network calls, the frames they took, and the batch settings."""

    batches: str
    batched: str
    batch_size: str
    batch_wait: str

    @classmethod
    def of(cls, batches: PipelineStats, config) -> 'Batching':
        counts = batches.snapshot()
        return cls(batches='%d' % counts.get('batches', 0), batched='%d' % counts.get('batched', 0),
                   batch_size=str(config['batch_size']), batch_wait='%g' % config['batch_wait'])


@dataclass(frozen=True)
class CameraSettings:
    """One camera's input as its status reports it."""

    depth: str
    image_topic: str
    qos: str
    camera: str  # '' for the single camera of image_topic: then not reported


def status_settings(model: ModelSettings, batching: Optional[Batching], camera: CameraSettings) -> Dict[str, str]:
    """The settings key/values of one camera's status, in the order readers index them by."""
    values = dataclasses.asdict(model)
    later = {key: values.pop(key) for key in ('interpolation', 'input', 'preset')}
    if batching is not None:
        values.update(dataclasses.asdict(batching))
    values.update(depth=camera.depth, image_topic=camera.image_topic, qos=camera.qos, **later)
    if camera.camera:
        values['camera'] = camera.camera
    return values


class NodeDiagnostics:
    """Publishes the node's DiagnosticArray on /diagnostics every ``config['diagnostics_period']`` s.

    ``config`` is the node's live configuration; ``camera_topic(camera)`` the camera's resolved image topic;
    ``idle_s()`` the seconds the inference thread has waited with no frame (all cameras together).
    """

    def __init__(self, node, model: ModelSlot, cameras: List[CameraInput], batches: PipelineStats, config,
                 camera_topic: Callable[[CameraInput], str], enabled: Callable[[], bool],
                 idle_s: Callable[[], float]):
        self._node = node
        self._model = model
        self._cameras = cameras
        self._batches = batches
        self._config = config
        self._camera_topic = camera_topic
        self._enabled = enabled
        self._idle_s = idle_s
        self._publisher: Any = None
        self._timer: Any = None

    def start(self) -> None:
        """Create the /diagnostics publisher and its timer."""
        self._publisher = self._node.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._timer = self._node.create_timer(self._config['diagnostics_period'], self.publish)

    def stop(self) -> None:
        self._node.destroy_publisher(self._publisher)
        self._node.destroy_timer(self._timer)

    def publish(self) -> None:
        estimator = self._model.estimator
        model = ModelSettings.of(estimator, self._config, self._enabled())
        batching = Batching.of(self._batches, self._config) if len(self._cameras) > 1 else None
        array = DiagnosticArray(status=[self._camera_status(camera, model, batching) for camera in self._cameras])
        array.header.stamp = self._node.get_clock().now().to_msg()
        self._publisher.publish(array)

    def _camera_status(self, camera: CameraInput, model: ModelSettings, batching: Optional[Batching]):
        """One camera's status: the shared settings, its input, counters and figures."""
        image_input = camera.subscriptions.image
        settings = status_settings(model, batching, CameraSettings(
            depth=camera.spec.depth_topic or 'off', image_topic=self._camera_topic(camera),
            qos=image_input.describe() if image_input is not None else 'not subscribed', camera=camera.name))
        name = '%s: pose estimation' % self._node.get_fully_qualified_name()
        if camera.name:
            name += ' %s' % camera.name
        figures = camera.stats.snapshot()
        figures[IDLE] = self._idle_s()
        logger = self._node.get_logger()
        warnings = camera.input_warnings(figures, self._image_topics_with_publishers, str(profile_path() or ''),
                                         logger.warning, logger.info)
        load_error = self._model.load_error if self._model.estimator is None else None
        status, problems = pose_status(name, figures, settings, load_error, camera.health.problems_reported,
                                       camera.slot.period, camera.depth_report(figures), warnings)
        camera.reported_problems(problems)
        return status

    def _image_topics_with_publishers(self) -> List[str]:
        """'topic (node, ...)' for every image topic of the graph that has publishers."""
        node = self._node
        wanted = 'sensor_msgs/msg/CompressedImage' if self._config['use_compressed'] else 'sensor_msgs/msg/Image'
        found = []
        for topic, types in node.get_topic_names_and_types():
            if wanted in types:
                nodes = sorted({i.node_name for i in node.get_publishers_info_by_topic(topic)
                                if (i.node_name, i.node_namespace) != (node.get_name(), node.get_namespace())})
                if nodes:
                    found.append('%s (%s)' % (topic, ', '.join(nodes)))
        return found
