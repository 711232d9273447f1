"""Real TensorFlow 2.21 runs: golden/real/tensorflow/.

* L: the TF1 AdamOptimizer kernel, `tf.raw_ops.ResourceApplyAdam`, called eagerly on resource variables,
  with the beta powers kept as tf.compat.v1.train.AdamOptimizer keeps them (float32 variables that start at
  beta and are multiplied by beta after each step: python/training/adam.py `_finish`).
* I: google-research/bert `optimization.py` run for real as a TF1 graph (tf.compat.v1, a Session with the
  default config, so Grappler rewrites it as it would rewrite BERT's): `create_optimizer`'s schedule
  (tf.compat.v1.train.polynomial_decay to 0 plus linear warmup), `tf.clip_by_global_norm(grads, 1.0)` and
  `AdamWeightDecayOptimizer`. BERT's file is not in any wheel, so `bert_train_op` below re-implements it op
  for op from the upstream file (the optimizer class and create_optimizer after `tvars`, with the
  gradients fed instead of taken from a loss).
"""
import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from golden_io import arr, f32, grads_like, rng, write  # noqa: E402

def intra_op_threads():
    """The intra-op pool TF runs with: the set value, else its default, the CPUs this process may use."""
    return tf.config.threading.get_intra_op_parallelism_threads() or len(os.sched_getaffinity(0))


# intra_op_threads: how many threads Eigen may split a large reduction between (the clip's norms).
FW = {"name": "tensorflow", "version": tf.__version__, "device": "cpu", "intra_op_threads": intra_op_threads()}
KINDS = ["normal", "zero", "tiny", "huge", "mixed", "sparse"]


def sc(x):
    """A float32 scalar in the corpus encoding (shortest decimal; NaN and Infinity as strings)."""
    return arr([x])[0]


def grad_steps(gen, shapes, n_steps, kinds=None, inject=None, scale=1.0):
    """Per step, {name: float32 grad}. kinds[k] is the kind of step k (cycled); inject(k, name, g) may edit g."""
    kinds = kinds or ["normal"]
    out = []
    for k in range(n_steps):
        step = {}
        for name, shape in shapes:
            g = grads_like(gen, shape, kinds[k % len(kinds)], scale)
            if inject:
                inject(k, name, g)
            step[name] = g
        out.append(step)
    return out


def inits(gen, shapes, negative=()):
    out = {}
    for name, shape in shapes:
        x = gen.standard_normal(shape).astype(np.float32)
        out[name] = -np.abs(x) if name in negative else x
    return out


# ---------------------------------------------------------------- L: ResourceApplyAdam

L_SOURCE = ("real run of tf.raw_ops.ResourceApplyAdam (tensorflow/core/kernels/training_ops.cc ApplyAdam, the "
            "tf.compat.v1.train.AdamOptimizer kernel) on TF {v}, eager, CPU; beta powers kept as "
            "tensorflow/python/training/adam.py keeps them (float32 variables, beta_power *= beta after each step)")


def run_l(name, description, shapes, steps, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, seed=0, negative=()):
    gen = rng(seed)
    init = inits(gen, shapes, negative)
    grads = steps(gen, shapes)
    var = {n: tf.Variable(init[n]) for n, _ in shapes}
    m = {n: tf.Variable(np.zeros(s, np.float32)) for n, s in shapes}
    v = {n: tf.Variable(np.zeros(s, np.float32)) for n, s in shapes}
    b1t, b2t = tf.constant(b1, tf.float32), tf.constant(b2, tf.float32)
    b1p, b2p = tf.Variable(b1t), tf.Variable(b2t)
    lr_t, eps_t = tf.constant(lr, tf.float32), tf.constant(eps, tf.float32)
    out = []
    for gs in grads:
        # The kernel's alpha, `lr * sqrt(1 - beta2_power) / (1 - beta1_power)`, as the same float32 ops.
        one = tf.constant(1.0, tf.float32)
        alpha = lr_t * tf.sqrt(one - b2p) / (one - b1p)
        scalars = {"beta1_power": float(b1p.numpy()), "beta2_power": float(b2p.numpy()), "alpha": float(alpha.numpy())}
        for n, _ in shapes:
            tf.raw_ops.ResourceApplyAdam(var=var[n].handle, m=m[n].handle, v=v[n].handle, beta1_power=b1p, beta2_power=b2p,
                                         lr=lr_t, beta1=b1t, beta2=b2t, epsilon=eps_t, grad=tf.constant(gs[n]),
                                         use_locking=False, use_nesterov=False)
        b1p.assign(b1p * b1t)
        b2p.assign(b2p * b2t)
        out.append({"lr": lr, "grads": {n: arr(gs[n]) for n, _ in shapes}, "scalars": {k: sc(x) for k, x in scalars.items()},
                    "after": {n: {"param": arr(var[n].numpy()), "exp_avg": arr(m[n].numpy()), "exp_avg_sq": arr(v[n].numpy())} for n, _ in shapes}})
    write("tensorflow", name, {
        "source": L_SOURCE.format(v=tf.__version__), "convention": "L", "description": description, "framework": FW,
        "hyper": {
            "source": {"optimizer": "tf.raw_ops.ResourceApplyAdam", "learning_rate": lr, "beta1": b1, "beta2": b2, "epsilon": eps,
                       "use_locking": False, "use_nesterov": False},
            "normalized": {"lr": lr, "beta1": b1, "beta2": b2, "eps": eps, "weight_decay": 0.0, "decay_mode": "none", "amsgrad": False,
                           "maximize": False, "bias_correction": "epsilon-hat: alpha = lr*sqrt(1-b2p)/(1-b1p) (float32)", "eps_mode": "epsilon_hat",
                           "beta_power": "TF1: running float32 product (beta_power *= beta after each step)"},
            "state_names": {"exp_avg": "m", "exp_avg_sq": "v"},
            "notes": "scalars.alpha is the kernel's expression evaluated with the same float32 TF ops (the kernel does not output it)",
        },
        "params": [{"name": n, "shape": list(s), "init": arr(init[n])} for n, s in shapes],
        "steps": out,
    })


def nan_inf(nan_step=1, inf_step=2, nan_in=("w", "dense/kernel"), inf_in=("b", "dense/bias")):
    """An injector: a NaN element at step nan_step (0-based) in the nan_in params, +Inf and -Inf at inf_step."""
    def inject(k, name, g):
        if g.size == 0:
            return
        if k == nan_step and name in nan_in:
            g.reshape(-1)[2] = np.nan
        if k == inf_step and name in inf_in:
            g.reshape(-1)[0] = np.inf
            g.reshape(-1)[-1] = -np.inf
    return inject


def gen_l():
    small = [("w", (4, 8)), ("b", (8,)), ("s", (1,)), ("k", (3, 5))]
    run_l("L_tf_adam_defaults", "ResourceApplyAdam with tf.compat.v1.train.AdamOptimizer defaults (lr 1e-3, eps 1e-8); grads normal, zero, tiny, huge, mixed, sparse",
          small, lambda gen, sh: grad_steps(gen, sh, 12, KINDS), seed=101, negative=("k",))
    run_l("L_tf_adam_large_eps", "ResourceApplyAdam, lr 0.01, beta2 0.99, eps 0.1 (epsilon dominates)",
          small, lambda gen, sh: grad_steps(gen, sh, 8, ["normal", "tiny", "mixed"]), lr=0.01, b2=0.99, eps=0.1, seed=102)
    run_l("L_tf_adam_nan_inf_edge", "ResourceApplyAdam: a NaN grad element at step 2, +/-Inf at step 3; a [0] and a [1] param",
          [("w", (4, 8)), ("b", (8,)), ("empty", (0,)), ("one", (1,))], lambda gen, sh: grad_steps(gen, sh, 5, inject=nan_inf()), seed=103)
    run_l("L_tf_adam_large", "ResourceApplyAdam on 4099 and 67x61 (4087) elements: vector bodies and tails; lr 3e-3, beta1 0.8",
          [("embedding", (4099,)), ("dense", (67, 61)), ("bias", (61,))], lambda gen, sh: grad_steps(gen, sh, 4, ["normal", "mixed", "sparse"]),
          lr=3e-3, b1=0.8, seed=104)


# ---------------------------------------------------------------- I: BERT's create_optimizer as a TF1 graph

v1 = tf.compat.v1


class AdamWeightDecayOptimizer:
    """google-research/bert optimization.py AdamWeightDecayOptimizer, op for op (graph mode).

    Upstream subclasses tf.train.Optimizer only for its constructor; apply_gradients is its own."""

    def __init__(self, learning_rate, weight_decay_rate=0.0, beta_1=0.9, beta_2=0.999, epsilon=1e-6,
                 exclude_from_weight_decay=None, name="AdamWeightDecayOptimizer"):
        self.learning_rate = tf.identity(learning_rate, name="learning_rate")
        self.weight_decay_rate = weight_decay_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.exclude_from_weight_decay = exclude_from_weight_decay
        self.slots = {}

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        assignments = []
        for (grad, param) in grads_and_vars:
            if grad is None or param is None:
                continue
            param_name = self._get_variable_name(param.name)
            m = v1.get_variable(name=param_name + "/adam_m", shape=param.shape.as_list(), dtype=tf.float32,
                                trainable=False, initializer=v1.zeros_initializer())
            v = v1.get_variable(name=param_name + "/adam_v", shape=param.shape.as_list(), dtype=tf.float32,
                                trainable=False, initializer=v1.zeros_initializer())
            self.slots[param_name] = (m, v)
            next_m = (tf.multiply(self.beta_1, m) + tf.multiply(1.0 - self.beta_1, grad))
            next_v = (tf.multiply(self.beta_2, v) + tf.multiply(1.0 - self.beta_2, tf.square(grad)))
            update = next_m / (tf.sqrt(next_v) + self.epsilon)
            if self._do_use_weight_decay(param_name):
                update += self.weight_decay_rate * param
            update_with_lr = self.learning_rate * update
            next_param = param - update_with_lr
            assignments.extend([param.assign(next_param), m.assign(next_m), v.assign(next_v)])
        return tf.group(*assignments, name=name)

    def _do_use_weight_decay(self, param_name):
        if not self.weight_decay_rate:
            return False
        if self.exclude_from_weight_decay:
            for r in self.exclude_from_weight_decay:
                if re.search(r, param_name) is not None:
                    return False
        return True

    def _get_variable_name(self, param_name):
        m = re.match("^(.*):\\d+$", param_name)
        if m is not None:
            param_name = m.group(1)
        return param_name


def bert_train_op(grads, tvars, init_lr, num_train_steps, num_warmup_steps, schedule, clip, opt_kw):
    """create_optimizer from `global_step` on (the schedule, the clip, the optimizer, the step update)."""
    global_step = v1.train.get_or_create_global_step()
    learning_rate = tf.constant(value=init_lr, shape=[], dtype=tf.float32)
    if schedule:
        learning_rate = v1.train.polynomial_decay(learning_rate, global_step, num_train_steps, end_learning_rate=0.0,
                                                  power=1.0, cycle=False)
        if num_warmup_steps:
            global_steps_int = tf.cast(global_step, tf.int32)
            warmup_steps_int = tf.constant(num_warmup_steps, dtype=tf.int32)
            global_steps_float = tf.cast(global_steps_int, tf.float32)
            warmup_steps_float = tf.cast(warmup_steps_int, tf.float32)
            warmup_percent_done = global_steps_float / warmup_steps_float
            warmup_learning_rate = init_lr * warmup_percent_done
            is_warmup = tf.cast(global_steps_int < warmup_steps_int, tf.float32)
            learning_rate = ((1.0 - is_warmup) * learning_rate + is_warmup * warmup_learning_rate)
    optimizer = AdamWeightDecayOptimizer(learning_rate=learning_rate, **opt_kw)
    norm = None
    if clip:
        (grads, norm) = tf.clip_by_global_norm(grads, clip_norm=1.0)
    train_op = optimizer.apply_gradients(zip(grads, tvars), global_step=global_step)
    new_global_step = global_step + 1
    new_global_step = tf.identity(new_global_step, name="step_update")
    train_op = tf.group(train_op, [global_step.assign(new_global_step)])
    return train_op, optimizer, grads, norm


EXCLUDE = ["LayerNorm", "layer_norm", "bias"]


def run_i(name, description, shapes, steps, init_lr, wd=0.01, b1=0.9, b2=0.999, eps=1e-6, schedule=None, clip=True, seed=0):
    gen = rng(seed)
    init = inits(gen, shapes)
    grads_np = steps(gen, shapes)
    T, W = (schedule or (1, 0))
    opt_kw = dict(weight_decay_rate=wd, beta_1=b1, beta_2=b2, epsilon=eps, exclude_from_weight_decay=EXCLUDE)
    graph = tf.Graph()
    with graph.as_default():
        tvars = [v1.get_variable(n, initializer=tf.constant(init[n])) for n, _ in shapes]
        feeds = [v1.placeholder(tf.float32, s) for _, s in shapes]
        train_op, optimizer, clipped, norm = bert_train_op(feeds, tvars, init_lr, T, W, schedule is not None, clip, opt_kw)
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            out = []
            for gs in grads_np:
                feed = {p: gs[n] for p, (n, _) in zip(feeds, shapes)}
                lr_before = sess.run(optimizer.learning_rate)
                fetch = {"train": train_op, "lr": optimizer.learning_rate}
                if clip:
                    fetch["norm"] = norm
                    fetch["clipped"] = clipped
                    # clip_by_global_norm's `scale`: the second input of the multiply under the first identity.
                    fetch["coef"] = clipped[0].op.inputs[0].op.inputs[1]
                r = sess.run(fetch, feed)
                # BERT's global_step.assign is not ordered against the lr's read of global_step; the value
                # the step used must be the one for the step before the increment.
                assert np.float32(r["lr"]) == np.float32(lr_before), (name, r["lr"], lr_before)
                step = {"lr": sc(r["lr"]), "grads": {n: arr(gs[n]) for n, _ in shapes}}
                if clip:
                    step["clip"] = {"max_norm": 1.0, "norm_type": 2.0, "total_norm": sc(r["norm"]), "clip_coef": sc(r["coef"]),
                                    "grads_after_clip": {n: arr(c) for (n, _), c in zip(shapes, r["clipped"])}}
                after = {}
                for (n, _), var in zip(shapes, tvars):
                    m, v = optimizer.slots[n]
                    pv, mv, vv = sess.run([var, m, v])
                    after[n] = {"param": arr(pv), "exp_avg": arr(mv), "exp_avg_sq": arr(vv)}
                step["after"] = after
                out.append(step)
    sched = {"type": "constant"}
    if schedule:
        sched = {"type": "bert create_optimizer: tf.compat.v1.train.polynomial_decay(init_lr, global_step, num_train_steps, end=0, power=1)"
                         " then linear warmup global_step/num_warmup_steps*init_lr; float32 graph ops; step k uses global_step=k-1",
                 "num_train_steps": T, "num_warmup_steps": W}
    hyper = {
        "source": {"optimizer": "AdamWeightDecayOptimizer", "learning_rate": init_lr, "weight_decay_rate": wd, "beta_1": b1, "beta_2": b2,
                   "epsilon": eps, "exclude_from_weight_decay": EXCLUDE},
        "normalized": {"lr": init_lr, "beta1": b1, "beta2": b2, "eps": eps, "weight_decay": wd, "decay_mode": "decoupled_lr_scaled_added_to_update",
                       "amsgrad": False, "maximize": False, "bias_correction": False, "eps_mode": "update = m/(sqrt(v)+eps), no bias correction",
                       "exclude_regex": EXCLUDE},
        "schedule": sched,
        "state_names": {"exp_avg": "adam_m", "exp_avg_sq": "adam_v"},
        "notes": "lr is the float32 tensor the graph computed at that step (optimizer.learning_rate fetched in the training run).",
    }
    if clip:
        hyper["clip_grad_norm"] = {"max_norm": 1.0, "norm_type": 2.0, "mode": "tf.clip_by_global_norm",
                                   "notes": "tensorflow/python/ops/clip_ops.py: global_norm = sqrt(reduce_sum(stack([l2_loss(g)]))*2); "
                                            "scale = clip_norm*min(1/norm, 1/clip_norm) + (norm - norm); g*scale. total_norm, clip_coef (scale) "
                                            "and grads_after_clip are the graph's tensors."}
    framework = {**FW, "graph": "tf.compat.v1"}
    src = ("real run on TF {v} (tf.compat.v1 graph, Session with the default config) of a faithful re-implementation of "
           "google-research/bert optimization.py (create_optimizer: polynomial_decay + warmup, tf.clip_by_global_norm(grads, 1.0); "
           "AdamWeightDecayOptimizer.apply_gradients, _do_use_weight_decay, _get_variable_name), op for op from the upstream file; "
           "gradients fed by placeholders instead of tf.gradients(loss)").format(v=tf.__version__)
    write("tensorflow", name, {
        "source": src, "convention": "I", "description": description, "framework": framework, "hyper": hyper,
        "params": [{"name": n, "shape": list(s), "init": arr(init[n]), "weight_decay": 0.0 if any(re.search(r, n) for r in EXCLUDE) else wd,
                    "decay_excluded": any(re.search(r, n) for r in EXCLUDE)} for n, s in shapes],
        "steps": out,
    })


BERT_SMALL = [
    ("bert/encoder/layer_0/attention/self/query/kernel", (8, 16)),
    ("bert/encoder/layer_0/attention/self/query/bias", (16,)),
    ("bert/encoder/layer_0/attention/output/LayerNorm/gamma", (16,)),
    ("bert/encoder/layer_0/attention/output/LayerNorm/beta", (16,)),
    ("cls/predictions/output_bias", (13,)),
]
BERT_SHAPES = BERT_SMALL + [("bert/embeddings/word_embeddings", (4099,))]


def gen_i():
    run_i("I_bert_create_optimizer", "BERT create_optimizer: init_lr 3e-3, num_train_steps 24, num_warmup_steps 5, clip_by_global_norm 1.0, "
          "wd 0.01; grads mostly above the clip norm, some below (tiny, zero)", BERT_SMALL,
          lambda gen, sh: grad_steps(gen, sh, 14, ["normal", "normal", "tiny", "normal", "zero", "sparse", "normal", "mixed"], scale=0.05),
          init_lr=3e-3, schedule=(24, 5), seed=201)
    run_i("I_bert_create_optimizer_lr5e5", "BERT create_optimizer with BERT's fine-tuning numbers: init_lr 5e-5, 40 train steps, 4 warmup, clip 1.0; a 4099-element embedding",
          BERT_SHAPES, lambda gen, sh: grad_steps(gen, sh, 7, ["normal", "huge", "normal", "sparse"], scale=0.01),
          init_lr=5e-5, schedule=(40, 4), seed=202)
    run_i("I_bert_create_optimizer_tree", "BERT create_optimizer with a 10007-element embedding: Eigen's sum splits above 8192 "
          "elements (a tree of halves)", BERT_SMALL[:2] + [("bert/embeddings/word_embeddings", (10007,))],
          lambda gen, sh: grad_steps(gen, sh, 3, ["normal", "mixed", "sparse"], scale=0.01), init_lr=2e-5, schedule=(30, 2), seed=207)
    run_i("I_bert_schedule_no_warmup_large_wd", "create_optimizer schedule without warmup (num_warmup_steps 0), 7 train steps run for 9 "
          "(lr 0 after the end), wd 0.1, beta2 0.98, clip 1.0", BERT_SHAPES[:5] + [("layer_1/layer_norm/gamma", (3,))],
          lambda gen, sh: grad_steps(gen, sh, 9, ["normal", "mixed"]), init_lr=1e-3, wd=0.1, b2=0.98, schedule=(7, 0), seed=203)
    run_i("I_bert_constant_no_clip", "AdamWeightDecayOptimizer alone (constant lr 1e-3, no clipping): grads normal, zero, tiny, huge, mixed, sparse",
          BERT_SMALL, lambda gen, sh: grad_steps(gen, sh, 12, KINDS), init_lr=1e-3, clip=False, seed=204)
    run_i("I_bert_create_optimizer_nan_edge", "create_optimizer with a NaN grad at step 3 (the global norm and so every clipped grad become "
          "NaN) and an Inf at step 5; [0] and [1] params", [("dense/kernel", (4, 8)), ("dense/bias", (8,)), ("empty/kernel", (0,)), ("one/kernel", (1,))],
          lambda gen, sh: grad_steps(gen, sh, 6, inject=nan_inf(2, 4)),
          init_lr=1e-3, schedule=(10, 2), seed=205)
    run_i("I_bert_constant_nan_edge_no_clip", "AdamWeightDecayOptimizer alone: NaN at step 2, +/-Inf at step 3; [0] and [1] params",
          [("dense/kernel", (4, 8)), ("dense/bias", (8,)), ("empty/kernel", (0,)), ("one/kernel", (1,))],
          lambda gen, sh: grad_steps(gen, sh, 5, inject=nan_inf()),
          init_lr=1e-3, clip=False, seed=206)


if __name__ == "__main__":
    gen_l()
    gen_i()
