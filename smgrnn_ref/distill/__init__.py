"""Policy distillation: train an SMGrNN student to imitate a shipped expert, DAgger-style.

The paper trains SMGrNN by policy distillation: a supervised loss ``L_t(theta)`` between the
student's and a pre-trained expert's outputs drives Adam, while the Structural Plasticity
Module edits the structure (Jia & Zhou, arXiv 2512.12713). The paper does not spell out how the
training states are collected; **our choice** is a DAgger-style loop (Ross et al., 2011). At
every training step ``t = 1, 2, ...``:

1. the expert labels the current state ``s_t`` (its logits ``z_E(s_t)``) and the pair goes into
   a bounded dataset (a ring buffer of ``dataset_capacity`` pairs);
2. the acting policy is the expert with probability ``beta_t`` (linearly decayed from
   ``beta0`` to 0 over the first ``mix_steps`` steps), else the student (greedy argmax of its
   logits); the environment steps;
3. one Adam step on a minibatch of ``batch_size`` pairs drawn uniformly (with replacement)
   from the dataset (the whole dataset while it holds fewer than ``batch_size`` pairs);
4. one SPM step ``engine.spm_step(t, rng_spm)``.

Every ``eval_every`` steps the student alone plays ``eval_episodes`` greedy episodes reset with
the fixed seeds ``eval_seed + i``, so evaluations are comparable across steps, runs and
variants.

Variants (all through the same engine): ``full``; ``static`` (SPM off, the initial
input/output graph: the paper's growth-disabled ablation); ``growth-only`` (pruning off);
``no-random`` (``p_rand = 0``); ``mlp`` (a fixed layered graph, SPM off).

A run writes a run directory (its files and formats: :mod:`smgrnn_ref.rundir`; see
``docs/distillation.md``) and can be interrupted (Ctrl-C or a crash) and resumed exactly.

The package, one concern per module:

* :mod:`~smgrnn_ref.distill.train_config`: :class:`TrainConfig`, its JSON form and its layers;
* :mod:`~smgrnn_ref.distill.variants`: what each variant trains (SPM rules, start graph);
* :mod:`~smgrnn_ref.distill.dataset`: the labelled ring buffer (:class:`Dataset`);
* :mod:`~smgrnn_ref.distill.episode`: the training environment, replayable from seed and actions;
* :mod:`~smgrnn_ref.distill.evaluation`: greedy fixed-seed evaluation (:func:`evaluate_student`);
* :mod:`~smgrnn_ref.distill.trainer`: the protocol, step by step (:class:`Trainer`);
* :mod:`~smgrnn_ref.distill.progress`: the progress bar;
* :mod:`~smgrnn_ref.distill.runs`: the entry points :func:`train` and :func:`resume`.

Every name below is importable from ``smgrnn_ref.distill`` itself.

Examples
--------
>>> cfg = TrainConfig(env_id="CartPole-v1", variant="static", steps=50)
>>> variant_spm("static", cfg.spm).enable_edge_growth
False
>>> train_config_from_dict(train_config_to_dict(cfg)) == cfg
True
>>> [round(mixing_beta(t, beta0=1.0, mix_steps=4), 2) for t in (1, 2, 5, 9)]
[1.0, 0.75, 0.0, 0.0]
"""

# The run directory's names, importable from here as they were before the package split.
from ..rundir import (  # noqa: F401
    CHECKPOINT_DIR,
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    CONFIG_FILE,
    EVENT_KINDS,
    EVENTS_FILE,
    FRAMES_DIR,
    GIF_FILE,
    GRAPH_FILE,
    METRICS_COLUMNS,
    METRICS_FILE,
    PLOT_FILE,
    TOPOLOGY_FILE,
    default_out_dir,
    read_config_dict,
    run_name,
)
from .dataset import Dataset
from .episode import TrainingEpisode
from .evaluation import evaluate_student
from .runs import prepare_out_dir, resume, train
from .train_config import (
    DEFAULT_ENGINE,
    TrainConfig,
    config_for_env,
    load_config,
    resolve_teacher,
    save_config,
    train_config_from_dict,
    train_config_to_dict,
)
from .trainer import ENV_SEED_BOUND, STREAMS, Trainer, mixing_beta, spawn_streams  # noqa: F401
from .variants import VARIANTS, build_graph, variant_spm

__all__ = [
    "DEFAULT_ENGINE",
    "VARIANTS",
    "STREAMS",
    "METRICS_COLUMNS",
    "TrainConfig",
    "train_config_to_dict",
    "train_config_from_dict",
    "config_for_env",
    "resolve_teacher",
    "save_config",
    "read_config_dict",
    "load_config",
    "variant_spm",
    "build_graph",
    "mixing_beta",
    "spawn_streams",
    "Dataset",
    "TrainingEpisode",
    "evaluate_student",
    "run_name",
    "default_out_dir",
    "prepare_out_dir",
    "Trainer",
    "train",
    "resume",
]
