"""Real TensorFlow 2.21 / Keras 3.15 values for tests/tf-keras.test.js, printed as JSON on stdout.

* bert: google-research/bert create_optimizer's schedule built as a tf.compat.v1 graph (the ops of
  golden/generate/gen_tf.py bert_train_op), run in a Session for every global_step.
* keras: keras.optimizers.schedules.CosineDecay (with and without warmup) and ExponentialDecay evaluated
  at every step on the backend named by argv[1] (KERAS_BACKEND is set by the caller; one process each).
* clip: tf.clip_by_global_norm's and Keras's global_clipnorm (TF backend) norms and clipped gradients
  for random gradient lists (eager), with TensorFlow's intra-op pool set to INTRA_OP threads, so that Eigen
  shards the sums of the large ones; the clipped gradients only for the small cases (output size).
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

BERT = [(3e-3, 24, 5), (5e-5, 100, 10), (1e-3, 7, 0), (2e-5, 1000, 97), (0.1, 49, 0), (7e-4, 13, 7)]
# The last of each list has a step where glibc's cosf / powf is not the correctly rounded value.
COSINE = [dict(initial_learning_rate=0.01, decay_steps=40, alpha=0.05),
          dict(initial_learning_rate=0.0, decay_steps=30, alpha=0.1, warmup_target=0.003, warmup_steps=7),
          dict(initial_learning_rate=1e-4, decay_steps=17, alpha=0.0, warmup_target=2e-3, warmup_steps=5),
          dict(initial_learning_rate=0.03817622363567352, decay_steps=176, alpha=0.001)]
EXPONENTIAL = [dict(initial_learning_rate=0.01, decay_steps=3, decay_rate=0.8),
               dict(initial_learning_rate=3e-3, decay_steps=4, decay_rate=0.5, staircase=True),
               dict(initial_learning_rate=1e-3, decay_steps=10, decay_rate=0.96),
               dict(initial_learning_rate=0.0004644799046218395, decay_steps=70, decay_rate=0.9374526932555389)]


def bert():
    import tensorflow as tf
    v1 = tf.compat.v1
    out = []
    for init, T, W in BERT:
        g = tf.Graph()
        with g.as_default():
            global_step = v1.train.get_or_create_global_step()
            lr = v1.train.polynomial_decay(tf.constant(value=init, shape=[], dtype=tf.float32), global_step, T,
                                           end_learning_rate=0.0, power=1.0, cycle=False)
            if W:
                gi = tf.cast(global_step, tf.int32)
                wi = tf.constant(W, dtype=tf.int32)
                warm = init * (tf.cast(gi, tf.float32) / tf.cast(wi, tf.float32))
                is_w = tf.cast(gi < wi, tf.float32)
                lr = (1.0 - is_w) * lr + is_w * warm
            inc = global_step.assign_add(1)
            with v1.Session() as sess:
                sess.run(v1.global_variables_initializer())
                lrs = []
                for _ in range(T + 3):
                    lrs.append(float(sess.run(lr)))
                    sess.run(inc)
        out.append({"init": init, "T": T, "W": W, "lr": lrs})
    return out


def keras_cos():
    """keras.ops.cos of one float32 value at a time (as CosineDecay calls it; a vector would take Eigen's or
    XLA's vectorized cosine instead), for pi * k / 1500."""
    import keras
    from keras import ops
    xs = [float(np.float32(np.float32(np.pi) * np.float32(k / 1500))) for k in range(1501)]
    return {"x": xs, "cos": [float(ops.convert_to_numpy(ops.cos(ops.convert_to_tensor(np.float32(x))))) for x in xs]}


def keras_schedules():
    import keras
    from keras import ops
    out = []
    for cls, confs in (("CosineDecay", COSINE), ("ExponentialDecay", EXPONENTIAL)):
        for c in confs:
            s = getattr(keras.optimizers.schedules, cls)(**c)
            n = c["decay_steps"] + c.get("warmup_steps", 0) + 3
            out.append({"class": cls, "config": c, "lr": [float(ops.convert_to_numpy(s(k))) for k in range(n)]})
    return out


INTRA_OP = 4
CLIP_CASES = [([150001, 16], 0.01, 1.0), ([300007], 0.01, 1.0), ([1, 7, 33, 100], 1.0, 1.0), ([4099, 10007, 3], 0.01, 1.5), ([5, 8], 1e-3, 2.0), ([8193, 16], 0.3, 0.7),
              ([8191, 8192, 16385], 0.01, 1.0), ([20000], 0.01, 1.0)] + [([n], 0.5, 1.0) for n in range(1, 81)]


def clip():
    """tf.clip_by_global_norm and Keras's global_clipnorm functions (TF backend) on the same gradients."""
    import tensorflow as tf
    from keras.src.optimizers import base_optimizer
    gen = np.random.default_rng(7)
    big = 50000
    out = []
    for sizes, scale, clip_norm in CLIP_CASES:
        # Magnitudes spread over 4 decades make the sum's order show in its rounding.
        spread = (lambda n: 10.0 ** gen.uniform(-2, 2, n)) if sum(sizes) >= big else (lambda n: 1.0)
        gs = [(gen.standard_normal(n) * spread(n) * scale).astype(np.float32) for n in sizes]
        ts = [tf.constant(g) for g in gs]
        clipped, norm = tf.clip_by_global_norm(ts, clip_norm)
        k_norm = base_optimizer.global_norm(ts)
        k_clipped = base_optimizer.clip_by_global_norm(ts, clip_norm)
        small = sum(sizes) < big
        out.append({"clip_norm": clip_norm, "grads": [g.tolist() for g in gs],
                    "tf": {"norm": float(norm.numpy()), "clipped": [c.numpy().tolist() for c in clipped] if small else None},
                    "keras": {"norm": float(k_norm.numpy()), "clipped": [c.numpy().tolist() for c in k_clipped] if small else None}})
    return out


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "tensorflow":
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(INTRA_OP)
        print(json.dumps({"bert": bert(), "clip": clip(), "intra_op": INTRA_OP, "keras": keras_schedules(), "cos": keras_cos()}))
    else:
        print(json.dumps({"keras": keras_schedules(), "cos": keras_cos()}))
