"""Child process: convert a tf-pose frozen graph to a LiteRT model for one input size.

``python -m tf_pose_ros.engines.litert_convert GRAPH WIDTHxHEIGHT OUT.tflite``
"""

from __future__ import annotations

import sys


def main(argv=None) -> int:
    """Entry point; exit status 0 on success, 1 with a one-line reason on stderr otherwise."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] in ('-h', '--help'):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    graph, resolution, out = args
    from tf_pose_ros.config import parse_resolution
    from tf_pose_ros.models import INPUT_TENSOR, OUTPUT_TENSOR

    width, height = parse_resolution(resolution)
    import tensorflow as tf

    try:
        converter = tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(
            graph, input_arrays=[INPUT_TENSOR.split(':')[0]], output_arrays=[OUTPUT_TENSOR.split(':')[0]],
            input_shapes={INPUT_TENSOR.split(':')[0]: [1, height, width, 3]})
        data = converter.convert()
    except Exception as err:  # the converter raises many types; the parent reports the reason
        print('cannot convert %s: %s' % (graph, str(err).strip().splitlines()[-1] if str(err).strip() else err),
              file=sys.stderr)
        return 1
    with open(out, 'wb') as f:
        f.write(data)
    return 0


if __name__ == '__main__':
    sys.exit(main())
