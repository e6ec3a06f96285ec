"""The bag command on bags written here from real frames: every frame's Persons, the other topics copied,
faces blurred in place of the originals, bad input refused; MCAP and SQLite3, and a ROS 1 bag."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip('rosbags', reason='rosbags is not installed (requirements.lock pins it)')

from rosbags.highlevel import AnyReader  # noqa: E402
from rosbags.rosbag2 import StoragePlugin, Writer  # noqa: E402
from rosbags.typesys import Stores, get_typestore  # noqa: E402

from tf_pose_ros.cli import main  # noqa: E402
from tf_pose_ros.privacy import Box  # noqa: E402
from tf_pose_ros.recordings import frames  # noqa: E402
from tf_pose_ros.recordings.bag_files import BagError  # noqa: E402
from tf_pose_ros.recordings.message_types import PERSONS, definitions_dir, output_typestore  # noqa: E402
from tf_pose_ros.recordings.processing import BagOptions, process_bag  # noqa: E402
from tf_pose_ros.samples import demo_frames  # noqa: E402

RAW, COMPRESSED, CHATTER = '/cam/image_raw', '/photo/image/compressed', '/chatter'
PHOTO = Path(__file__).resolve().parent.parent / 'tf_pose_ros' / 'data' / 'warmup_people.jpg'
START = 1_700_000_000 * 10**9
PERIOD = 50_000_000  # 20 Hz
CLIP = 8
CORRUPT_RAW, CORRUPT_JPEG = 5, 2  # the clip's frame with a short data field; the photo frame that is cut off
STORAGES = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}
TYPES = get_typestore(Stores.ROS2_KILTED)


def header(ns, frame_id):
    stamp = TYPES.types['builtin_interfaces/msg/Time'](sec=ns // 10**9, nanosec=ns % 10**9)
    return TYPES.types['std_msgs/msg/Header'](stamp=stamp, frame_id=frame_id)


def clip_frames():
    """The demo clip with its plain grey background replaced by texture (blurring it would show), and per
    frame the pixels far from the astronaut's face: those textured columns and the lower third (suit, helmet)."""
    texture = np.random.default_rng(11).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    clip = []
    for image in demo_frames(640, 480, CLIP):
        background = (image == 40).all(axis=(0, 2))  # the columns beside the photo
        image[:, background] = texture[:, background]
        far = np.zeros((480, 640), bool)
        far[:, background] = True
        far[320:] = True
        clip.append((image, far))
    return clip


def raw_image(ns, image, data=None):
    return TYPES.types['sensor_msgs/msg/Image'](
        header=header(ns, 'camera'), height=image.shape[0], width=image.shape[1], encoding='bgr8', is_bigendian=0,
        step=image.shape[1] * 3, data=image.reshape(-1) if data is None else data)


def write_bag(path, storage='mcap'):
    """The demo clip as a raw topic (one frame's data cut short), the bundled photo as JPEG (one cut
    off) and a chatter topic between them; the image stamps lag their record times by 2 ms.

    Returns {topic: [(record time, message bytes)]} as written.
    """
    photo = cv2.imencode('.jpg', cv2.imread(str(PHOTO)))[1].reshape(-1)
    written = {RAW: [], COMPRESSED: [], CHATTER: []}
    with Writer(path, version=9, storage_plugin=STORAGES[storage]) as writer:
        connections = {topic: writer.add_connection(topic, msgtype, typestore=TYPES) for topic, msgtype in (
            (RAW, 'sensor_msgs/msg/Image'), (COMPRESSED, 'sensor_msgs/msg/CompressedImage'),
            (CHATTER, 'std_msgs/msg/String'))}

        def put(topic, ns, msg, msgtype):
            data = bytes(TYPES.serialize_cdr(msg, msgtype))
            writer.write(connections[topic], ns, data)
            written[topic].append((ns, data))

        for index, (image, _) in enumerate(clip_frames()):
            ns = START + index * PERIOD
            data = image.reshape(-1)[:1000] if index == CORRUPT_RAW else None
            put(RAW, ns + 2_000_000, raw_image(ns, image, data), 'sensor_msgs/msg/Image')
            chatter = TYPES.types['std_msgs/msg/String'](data='frame %d' % index)
            put(CHATTER, ns + 3_000_000, chatter, 'std_msgs/msg/String')
            if index % 2 == 0:
                jpeg = photo[:700] if index // 2 == CORRUPT_JPEG else photo
                compressed = TYPES.types['sensor_msgs/msg/CompressedImage'](
                    header=header(ns + 1_000_000, 'photo'), format='jpeg', data=jpeg)
                put(COMPRESSED, ns + 4_000_000, compressed, 'sensor_msgs/msg/CompressedImage')
    return written


def read_bag(path):
    """{topic: [(record time, message bytes, message)]} and {topic: connection} of a bag."""
    found, connections = {}, {}
    with AnyReader([Path(path)]) as reader:
        for connection, ns, data in reader.messages():
            connections[connection.topic] = connection
            msg = reader.deserialize(data, connection.msgtype)
            found.setdefault(connection.topic, []).append((ns, bytes(data), msg))
    return found, connections


@pytest.fixture(scope='module')
def default_estimator(mobilenet_thin_path):
    from tf_pose_ros.estimator import PoseEstimator

    estimator = PoseEstimator()
    yield estimator
    estimator.close()


def stamp_ns(msg):
    return msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec


# --- processing ------------------------------------------------------------------------------------------
@pytest.mark.parametrize('storage', sorted(STORAGES))
def test_every_frame_gets_its_persons_and_everything_else_is_copied(tmp_path, default_estimator, storage):
    written = write_bag(tmp_path / 'in', storage)
    summary = process_bag(default_estimator, tmp_path / 'in', tmp_path / 'out',
                          BagOptions(storage=storage, annotate=True, batch_size=3))
    assert (summary.frames, summary.inferred, summary.copied) == (CLIP + CLIP // 2, CLIP + CLIP // 2 - 2, CLIP)
    assert summary.unreadable == {RAW: 1, COMPRESSED: 1} and len(summary.problems) == 2
    found, connections = read_bag(tmp_path / 'out')
    assert sorted(found) == sorted([RAW, COMPRESSED, CHATTER, RAW + '/persons', COMPRESSED + '/persons',
                                    RAW + '/annotated', COMPRESSED + '/annotated'])
    # Every other topic, and the images themselves, byte for byte at their record times; corrupt frames too.
    for topic in (RAW, COMPRESSED, CHATTER):
        assert [(ns, data) for ns, data, _ in found[topic]] == written[topic]
    # One Persons per readable image, at the image's record time, with its header.
    for topic in (RAW, COMPRESSED):
        images = [(ns, msg) for ns, _, msg in found[topic] if len(msg.data) > 1000]
        persons = found[topic + '/persons']
        assert [ns for ns, _, _ in persons] == [ns for ns, _ in images]
        assert [(stamp_ns(p), p.header.frame_id) for _, _, p in persons] == \
            [(stamp_ns(m), m.header.frame_id) for _, m in images]
        assert [ns for ns, _, _ in found[topic + '/annotated']] == [ns for ns, _ in images]
    raw_people = [len(p.persons) for _, _, p in found[RAW + '/persons']]
    photo_people = [len(p.persons) for _, _, p in found[COMPRESSED + '/persons']]
    assert raw_people == [1] * (CLIP - 1) and photo_people == [3] * (CLIP // 2 - 1)
    assert summary.persons == sum(raw_people) + sum(photo_people)
    first = found[RAW + '/persons'][0][2]
    assert (first.image_width, first.image_height, first.model) == (640, 480, 'mobilenet_thin')
    assert sorted(p.id for p in found[COMPRESSED + '/persons'][-1][2].persons) == [0, 1, 2]  # track ids
    # The Persons type is stored with its definition and rosidl's hash, so other tools can read it.
    persons = connections[RAW + '/persons']
    assert persons.msgtype == PERSONS and 'tf_pose_ros/Person[] persons' in persons.msgdef.data
    hashes = json.loads((definitions_dir() / 'Persons.json').read_text())['type_hashes'] \
        if (definitions_dir() / 'Persons.json').is_file() else None
    if hashes is not None:
        assert persons.digest == next(h['hash_string'] for h in hashes if h['type_name'] == PERSONS)


@pytest.mark.parametrize('storage', sorted(STORAGES))
def test_anonymize_writes_blurred_frames_in_place_of_the_originals(tmp_path, storage, capsys):
    written = write_bag(tmp_path / 'in', storage)
    status = main(['bag', str(tmp_path / 'in'), '--out', str(tmp_path / 'out'), '--storage', storage, '--anonymize',
                   '--annotate', '--no-progress'])
    out, err = capsys.readouterr()
    assert status == 1 and 'wrote %s: 12 frames' % (tmp_path / 'out') in out
    assert '2 unreadable frame(s) left out: %s 1, %s 1' % (RAW, COMPRESSED) in err
    found, _ = read_bag(tmp_path / 'out')
    assert [(ns, data) for ns, data, _ in found[CHATTER]] == written[CHATTER]
    for topic in (RAW, COMPRESSED):
        originals = {data for _, data in written[topic]}
        assert not originals & {data for _, data, _ in found[topic]}  # no original frame is left
        assert len(found[topic]) == len(found[topic + '/persons']) == len(written[topic]) - 1  # the corrupt one goes
    clip = clip_frames()
    for (_, _, image), (_, _, persons) in zip(found[RAW], found[RAW + '/persons']):
        original, far = clip[(stamp_ns(image) - START) // PERIOD]
        blurred = np.asarray(image.data).reshape(480, 640, 3)
        assert_blurred(original, blurred, persons, far, exact=True)
        assert image.encoding == 'bgr8' and stamp_ns(image) == stamp_ns(persons)
    photo = cv2.imread(str(PHOTO))
    below_the_heads = np.zeros(photo.shape[:2], bool)
    below_the_heads[160:] = True
    for (_, _, image), (_, _, persons) in zip(found[COMPRESSED], found[COMPRESSED + '/persons']):
        assert image.format == 'jpeg'
        blurred = cv2.imdecode(np.asarray(image.data), cv2.IMREAD_COLOR)
        assert_blurred(photo, blurred, persons, below_the_heads, exact=False)
    # The annotated images show no face either.
    annotated = np.asarray(found[RAW + '/annotated'][0][2].data).reshape(480, 640, 3)
    nose = next(k for k in found[RAW + '/persons'][0][2].persons[0].keypoints if k.name == 'nose')
    face = (slice(int(nose.y) - 40, int(nose.y) - 10), slice(int(nose.x) - 30, int(nose.x) + 30))
    assert np.abs(annotated[face].astype(int) - clip[0][0][face]).mean() > 8


def assert_blurred(original, blurred, persons, far, exact):
    """Each person's face changed; the ``far`` pixels as they were (JPEG: within its error)."""
    assert persons.persons
    for found in persons.persons:
        nose = next(k for k in found.keypoints if k.name == 'nose')
        x, y = int(nose.x), int(nose.y)
        face = (slice(max(0, y - 12), y + 12), slice(max(0, x - 12), x + 12))
        assert np.abs(blurred[face].astype(int) - original[face]).mean() > 8, 'face at %d, %d not blurred' % (x, y)
    difference = np.abs(blurred[far].astype(int) - original[far])
    if exact:
        assert difference.max() == 0
    else:
        assert difference.mean() < 2.5


def test_the_output_appears_only_when_complete_and_exists_only_with_overwrite(tmp_path, default_estimator):
    write_bag(tmp_path / 'in')
    seen = []

    def interrupt(count):
        seen.append(count)
        if len(seen) == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        process_bag(default_estimator, tmp_path / 'in', tmp_path / 'out', progress=interrupt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['in']  # no output, no scratch directory left
    process_bag(default_estimator, tmp_path / 'in', tmp_path / 'out', BagOptions(topics=(COMPRESSED,)))
    before = read_bag(tmp_path / 'out')[0]
    assert RAW + '/persons' not in before and len(before[COMPRESSED + '/persons']) == CLIP // 2 - 1
    with pytest.raises(BagError, match='exists; give another --out, or --overwrite'):
        process_bag(default_estimator, tmp_path / 'in', tmp_path / 'out')
    process_bag(default_estimator, tmp_path / 'in', tmp_path / 'out', BagOptions(overwrite=True))
    assert RAW + '/persons' in read_bag(tmp_path / 'out')[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ['in', 'out']


def test_bad_input_is_refused_with_the_reason(tmp_path, capsys):
    write_bag(tmp_path / 'in')
    (tmp_path / 'notes.txt').write_text('not a bag')
    (tmp_path / 'empty').mkdir()
    cases = [
        (['bag', str(tmp_path / 'missing')], 'does not exist'),
        (['bag', str(tmp_path / 'notes.txt')], 'is not a bag that can be read'),
        (['bag', str(tmp_path / 'empty')], 'is not a bag that can be read'),
        (['bag', str(tmp_path / 'in'), '--topics', '/nope'], 'topic /nope is not in the bag; its image topics: %s, %s'
         % (RAW, COMPRESSED)),
        (['bag', str(tmp_path / 'in'), '--topics', CHATTER], 'topic /chatter is std_msgs/msg/String, not an Image'),
        (['bag', str(tmp_path / 'in'), '--out', str(tmp_path / 'empty')], 'empty exists; give another --out, or '
         '--overwrite to replace it'),
        (['bag', str(tmp_path / 'in'), '--out', str(tmp_path / 'in'), '--overwrite'], 'is the input bag'),
    ]
    for argv, words in cases:
        assert main(argv + ['--no-progress']) == 2, argv
        assert words in capsys.readouterr().err, argv
    assert sorted(p.name for p in tmp_path.iterdir()) == ['empty', 'in', 'notes.txt']


def test_a_ros1_bag_becomes_a_rosbag2_bag_with_persons(tmp_path, default_estimator):
    from rosbags.rosbag1 import Writer as Writer1

    ros1 = get_typestore(Stores.ROS1_NOETIC)
    image = next(iter(demo_frames(640, 480, 1)))
    with Writer1(tmp_path / 'old.bag') as writer:
        camera = writer.add_connection(RAW, 'sensor_msgs/msg/Image', typestore=ros1)
        chatter = writer.add_connection(CHATTER, 'std_msgs/msg/String', typestore=ros1)
        for index in range(3):
            ns = START + index * PERIOD
            stamp = ros1.types['builtin_interfaces/msg/Time'](sec=ns // 10**9, nanosec=ns % 10**9)
            msg = ros1.types['sensor_msgs/msg/Image'](
                header=ros1.types['std_msgs/msg/Header'](seq=index, stamp=stamp, frame_id='camera'), height=480,
                width=640, encoding='bgr8', is_bigendian=0, step=1920, data=image.reshape(-1))
            writer.write(camera, ns, ros1.serialize_ros1(msg, 'sensor_msgs/msg/Image'))
            writer.write(chatter, ns + 1, ros1.serialize_ros1(ros1.types['std_msgs/msg/String'](data='hi %d' % index),
                                                             'std_msgs/msg/String'))
    summary = process_bag(default_estimator, tmp_path / 'old.bag', tmp_path / 'new', BagOptions(anonymize=True))
    assert summary.inferred == 3 and summary.copied == 3
    found, _ = read_bag(tmp_path / 'new')
    assert [m.data for _, _, m in found[CHATTER]] == ['hi 0', 'hi 1', 'hi 2']
    assert [stamp_ns(p) for _, _, p in found[RAW + '/persons']] == [START + i * PERIOD for i in range(3)]
    assert all(len(p.persons) == 1 for _, _, p in found[RAW + '/persons'])
    assert not np.array_equal(np.asarray(found[RAW][0][2].data), image.reshape(-1))


# --- writing blurred pixels in the message's own layout ------------------------------------------------
@pytest.mark.parametrize('encoding, channels, dtype', [('rgb8', 3, '<u1'), ('mono8', 1, '<u1'), ('mono16', 1, '>u2'),
                                                       ('16UC1', 1, '<u2'), ('bgra8', 4, '<u1')])
def test_blurred_pixels_keep_the_encoding_the_padding_and_every_pixel_outside(encoding, channels, dtype):
    height, width, pad = 30, 41, 6
    pixels = np.random.default_rng(5).integers(0, 60000 if dtype.endswith('2') else 255,
                                               (height, width, channels)).astype(dtype)
    row_bytes = width * channels * pixels.itemsize
    rows = np.full((height, row_bytes + pad), 77, np.uint8)
    rows[:, :row_bytes] = pixels.reshape(height, -1).view(np.uint8)
    msg = TYPES.types['sensor_msgs/msg/Image'](header=header(0, 'c'), height=height, width=width, encoding=encoding,
                                               is_bigendian=int(dtype.startswith('>')), step=row_bytes + pad,
                                               data=rows.reshape(-1))
    box = Box(5, 4, 30, 24)
    out = frames.blurred_pixels(msg, [box]).reshape(height, -1)
    assert (out[:, row_bytes:] == 77).all()  # the row padding as it was
    blurred = out[:, :row_bytes].copy().view(dtype).reshape(height, width, channels)
    inside = np.zeros((height, width), bool)
    inside[4:24, 5:30] = True
    assert np.array_equal(blurred[~inside], pixels[~inside])
    assert np.abs(blurred[inside].astype(float) - pixels[inside]).mean() > 5
    assert frames.decode(msg, 'sensor_msgs/msg/Image').shape == (height, width, 3)


def test_blurred_yuv422_stays_valid_4_2_2(astronaut):
    from tf_pose_ros.streams.image_messages import raw_to_bgr8

    yuv = cv2.cvtColor(astronaut, cv2.COLOR_BGR2YUV_YUY2).reshape(-1)
    msg = TYPES.types['sensor_msgs/msg/Image'](header=header(0, 'c'), height=512, width=512, encoding='yuv422_yuy2',
                                               is_bigendian=0, step=1024, data=yuv)
    box = Box(101, 40, 331, 260)  # odd columns: whole pixel pairs are taken
    msg.data = frames.blurred_pixels(msg, [box])
    out = raw_to_bgr8(msg)
    outside = np.ones((512, 512), bool)
    outside[40:260, 100:332] = False
    assert np.abs(out[outside].astype(int) - raw_to_bgr8(
        TYPES.types['sensor_msgs/msg/Image'](header=header(0, 'c'), height=512, width=512, encoding='yuv422_yuy2',
                                             is_bigendian=0, step=1024, data=yuv))[outside]).max() == 0
    assert np.abs(out[40:260, 101:331].astype(int) - astronaut[40:260, 101:331]).mean() > 10


# --- the message definitions ------------------------------------------------------------------------------
@pytest.mark.ros
def test_persons_written_here_are_read_by_ros(default_estimator):
    pytest.importorskip('rclpy', reason='rclpy (ROS 2) is not importable')
    from rclpy.serialization import deserialize_message

    from tf_pose_ros.msg import Persons
    from tf_pose_ros.recordings.persons import header_of, persons_message

    types = output_typestore()
    result = default_estimator.infer(cv2.imread(str(PHOTO)))
    msg = persons_message(types, result, header_of(types, header(START + 5, 'photo')), 'mobilenet_thin', ids=[7, 8, 9])
    ros = deserialize_message(bytes(types.serialize_cdr(msg, PERSONS)), Persons)
    assert (ros.header.stamp.sec, ros.header.stamp.nanosec, ros.header.frame_id) == (START // 10**9, 5, 'photo')
    assert [p.id for p in ros.persons] == [7, 8, 9] and ros.image_width == 768
    assert [k.name for k in ros.persons[0].keypoints] == [k.name for k in result.persons[0].keypoints]
    assert ros.persons[0].x_min == pytest.approx(min(k.x for k in result.persons[0].keypoints), abs=1e-3)


# --- reading ahead ----------------------------------------------------------------------------------------
def test_prefetch_keeps_the_order_raises_in_place_and_stops_with_its_reader():
    import threading

    from tf_pose_ros.recordings.prefetch import prefetched

    assert list(prefetched(range(50), lambda n: n * n, depth=3)) == [n * n for n in range(50)]

    def fails_at_five(n):
        if n == 5:
            raise ValueError('frame 5')
        return n

    got = []
    with pytest.raises(ValueError, match='frame 5'):
        for value in prefetched(range(10), fails_at_five):
            got.append(value)
    assert got == [0, 1, 2, 3, 4]
    taken = []

    def endless():
        n = 0
        while True:
            taken.append(n)
            yield n
            n += 1

    before = threading.active_count()
    stream = prefetched(endless(), lambda n: n, depth=4)
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()  # the caller stops early: the thread ends, having read at most the depth ahead
    assert threading.active_count() == before and len(taken) <= 3 + 4 + 2


def test_the_sample_bag_is_the_demo_clip_raw_compressed_and_calibrated(tmp_path, capsys):
    from tf_pose_ros.recordings import sample_bag

    assert sample_bag.main([str(tmp_path / 'demo'), '--frames', '3', '--storage', 'sqlite3']) == 0
    assert 'wrote %s: 3 frames of 640x480' % (tmp_path / 'demo') in capsys.readouterr().out
    found, connections = read_bag(tmp_path / 'demo')
    assert {topic: c.msgtype for topic, c in connections.items()} == sample_bag.TYPES
    clip = list(demo_frames(640, 480, 3))
    for index, (ns, _, msg) in enumerate(found[sample_bag.RAW_TOPIC]):
        assert ns == stamp_ns(msg) == sample_bag.START_NS + round(index * 1e9 / 30)
        assert np.array_equal(np.asarray(msg.data).reshape(480, 640, 3), clip[index])
    jpeg = cv2.imdecode(np.asarray(found[sample_bag.COMPRESSED_TOPIC][1][2].data), cv2.IMREAD_COLOR)
    assert np.abs(jpeg.astype(int) - clip[1]).mean() < 3
    info = found[sample_bag.INFO_TOPIC][0][2]
    assert (info.width, info.height) == (640, 480) and info.k[2] == 320
    assert sample_bag.main([str(tmp_path / 'demo')]) == 2  # an existing output is not overwritten


def test_the_bag_benchmark_runs_to_its_figures(tmp_path, default_estimator):
    from tf_pose_ros.benchmarks import bag_bench

    rows = bag_bench.measure(default_estimator, frames=4, rounds=1, size=(320, 240), workdir=tmp_path)
    assert set(rows) == set(bag_bench.KINDS)
    for row in rows.values():
        assert row['bench_fps'] > 0 and row['bag_fps'] > 0 and 0.05 < row['ratio'] < 20
    table = bag_bench.format_rows(rows, 'test', (320, 240))
    assert '| raw (Image) |' in table and '| compressed (CompressedImage) |' in table
