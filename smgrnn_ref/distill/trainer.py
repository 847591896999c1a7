"""The training protocol: one DAgger-style distillation run, step by step (:class:`Trainer`).

Every training step ``t = 1, 2, ...`` labels, acts, takes one optimizer step and one SPM step
(:meth:`Trainer.train_step`); around the steps the loop (:meth:`Trainer.run`) writes a
topology snapshot, evaluates, logs a metrics row and checkpoints at the steps the config
says. The files go through :class:`smgrnn_ref.rundir.RunDir`, a stop signal is turned into a
clean stop by :class:`smgrnn_ref.interrupt.StopRequest`, the bar is
:class:`~smgrnn_ref.distill.progress.RunProgress`; this module keeps only the protocol and its
state.

Examples
--------
>>> [round(mixing_beta(t, beta0=1.0, mix_steps=4), 2) for t in (1, 2, 5, 9)]
[1.0, 0.75, 0.0, 0.0]
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ..action_space import greedy_actions
from ..engine import make_engine
from ..graph import hidden_nodes, n_params
from ..interrupt import StopRequest
from ..rundir import DATASET_FILE, EVENT_KINDS, STATE_FILE, RunDir, run_name, snapshot
from .dataset import Dataset
from .episode import TrainingEpisode
from .evaluation import Evaluator
from .progress import RunProgress
from .train_config import TrainConfig, resolve_teacher, train_config_to_dict
from .variants import build_graph, variant_spm

#: Independent random streams of a run, spawned from ``SeedSequence(seed)`` in this order
#: (the order fixes which child seed each stream gets, so never reorder, only append).
STREAMS = ("graph", "env", "mix", "batch", "spm")

#: Training-episode reset seeds are drawn from the ``env`` stream in ``[0, ENV_SEED_BOUND)``:
#: gymnasium accepts any non-negative int; 2**31 - 1 keeps them portable 32-bit ints.
ENV_SEED_BOUND = 2**31 - 1


def mixing_beta(t: int, *, beta0: float, mix_steps: int) -> float:
    """Probability that the expert acts at step ``t >= 1``.

    ::

        beta_t = beta0 * max(0, 1 - (t - 1) / mix_steps)      (0 when mix_steps == 0)

    >>> mixing_beta(1, beta0=0.5, mix_steps=10), mixing_beta(11, beta0=0.5, mix_steps=10)
    (0.5, 0.0)
    """
    if mix_steps == 0:
        return 0.0
    return beta0 * max(0.0, 1.0 - (t - 1) / mix_steps)


def spawn_streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent ``Generator`` per name in :data:`STREAMS`, from ``SeedSequence(seed)``.

    >>> a, b = spawn_streams(0), spawn_streams(0)
    >>> a["spm"].random() == b["spm"].random() and a["spm"].random() != a["env"].random()
    True
    """
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.Generator(np.random.PCG64(ss)) for name, ss in zip(STREAMS, children)}


def _generator(state: dict) -> np.random.Generator:
    """A PCG64 ``Generator`` set to a stored ``bit_generator.state``."""
    g = np.random.Generator(np.random.PCG64())
    g.bit_generator.state = state
    return g


class Interval:
    """The accumulators of the current logging interval: what a ``metrics.csv`` row sums up.

    ``state`` is the JSON-ready dict a checkpoint stores (``loss_sum``, ``loss_n``,
    ``train_returns`` and one count per event kind); a resume passes it back.

    >>> iv = Interval()
    >>> iv.add_loss(0.5); iv.add_loss(0.25); iv.count([])
    >>> iv.cells()["loss"], iv.cells()["train_return_mean"], iv.cells()["edge_added"]
    (0.375, None, 0)
    """

    def __init__(self, state: dict | None = None):
        self.state = state if state is not None else {"loss_sum": 0.0, "loss_n": 0, "train_returns": [],
                                                      **{k: 0 for k in EVENT_KINDS}}

    def add_loss(self, loss: float) -> None:
        self.state["loss_sum"] += float(loss)
        self.state["loss_n"] += 1

    def add_return(self, ret: float) -> None:
        """A training episode ended with return ``ret``."""
        self.state["train_returns"].append(ret)

    def count(self, events) -> None:
        for e in events:
            self.state[e.kind] += 1

    def cells(self) -> dict:
        """The row's ``loss`` (mean), ``train_return_mean`` and event counts (``None``: none)."""
        s = self.state
        return {"loss": s["loss_sum"] / s["loss_n"] if s["loss_n"] else None,
                "train_return_mean": float(np.mean(s["train_returns"])) if s["train_returns"] else None,
                **{k: s[k] for k in EVENT_KINDS}}


def _is_int(x, lo: int = 0) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= lo


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_state(state: dict, cfg: TrainConfig, *, where) -> None:
    """Check the trainer's part of a checkpoint's ``state.json`` (what :meth:`Trainer.write_checkpoint`
    writes) before anything is restored from it; ``ValueError`` naming ``where`` and the field.

    The random streams and the episode are checked when restored (:meth:`Trainer.load_checkpoint`).
    """
    def bad(field, value):
        return ValueError(f"{where}: {field} is malformed ({value!r:.60})")

    if not _is_int(state.get("step")) or state["step"] > cfg.steps:
        raise bad("'step' (an integer in [0, steps])", state.get("step"))
    if not _is_int(state.get("episodes")):
        raise bad("'episodes'", state.get("episodes"))
    if not _is_number(state.get("wall_time")) or state["wall_time"] < 0:
        raise bad("'wall_time'", state.get("wall_time"))
    ev = state.get("last_eval")
    if ev is not None and not (isinstance(ev, dict) and _is_number(ev.get("mean")) and _is_number(ev.get("std"))):
        raise bad("'last_eval'", ev)
    iv = state.get("interval")
    if not (isinstance(iv, dict) and set(iv) == set(Interval().state) and _is_number(iv["loss_sum"])
            and _is_int(iv["loss_n"]) and all(_is_int(iv[k]) for k in EVENT_KINDS)
            and isinstance(iv["train_returns"], list) and all(map(_is_number, iv["train_returns"]))):
        raise bad("'interval'", iv)
    if not isinstance(state.get("rng"), dict) or set(state["rng"]) != set(STREAMS):
        raise bad(f"'rng' (one state for each of {list(STREAMS)})", state.get("rng"))
    ep = state.get("episode")
    if not (isinstance(ep, dict) and _is_int(ep.get("seed")) and isinstance(ep.get("actions"), list)
            and _is_number(ep.get("return")) and isinstance(ep.get("obs"), list) and all(map(_is_number, ep["obs"]))):
        raise bad("'episode'", ep)


class Trainer:
    """One distillation run bound to its run directory. Use :func:`train` / :func:`resume`.

    The training state is: the graph (weights, biases, Adam moments, SPM windows), the
    dataset, the random streams, the current training episode (reset seed, actions so far,
    return so far), the step and episode counters, the accumulators of the current logging
    interval and the last evaluation. A checkpoint stores all of it.
    """

    def __init__(self, cfg: TrainConfig, out_dir: Path, *, progress: bool = True, on_step=None):
        # the environment and the teacher are checked here, before anything is written; cfg
        # gets the teacher's record and loss (what config.json stores)
        self.cfg, self.teacher = resolve_teacher(cfg)
        cfg = self.cfg
        self.run_dir = RunDir(out_dir)
        self.out = self.run_dir.path
        self.progress = progress
        self.on_step = on_step  # a test hook, called as on_step(t) at the boundary before step t
        self.n_inputs, self.n_actions = self.teacher.n_inputs, self.teacher.n_outputs
        self.action_space = self.teacher.action_space
        self.spm_cfg = variant_spm(cfg.variant, cfg.spm)
        self.episode = None
        self.candidates = []  # the W_t a pruning step judged, for prune_candidates.jsonl
        self.evaluator = Evaluator(cfg.env_id, cfg.eval_episodes, cfg.eval_seed, self.action_space)
        self._consistent = True  # False while a step updates the state

    def _new_engine(self, G):
        return make_engine(self.cfg.engine, G, optimizer=self.cfg.optimizer, spm=self.spm_cfg, loss=self.cfg.loss)

    # -- state set-up ------------------------------------------------------------------------

    def start_fresh(self) -> None:
        """Build the step-0 state and the run directory's files."""
        self.build_fresh()
        self.run_dir.create(train_config_to_dict(self.cfg))
        self._write_snapshot()
        self.write_checkpoint()

    def build_fresh(self) -> None:
        """Build the step-0 state in memory (writes nothing: :func:`train` rehearses with it)."""
        cfg = self.cfg
        self.rng = spawn_streams(cfg.seed)
        self.engine = self._new_engine(build_graph(cfg, self.n_inputs, self.n_actions, self.rng["graph"]))
        self.dataset = Dataset(cfg.dataset_capacity, self.n_inputs, self.n_actions)
        self.step, self.episodes, self.wall_time, self.last_eval = 0, 0, 0.0, None
        self.interval = Interval()
        self.episode = TrainingEpisode(cfg.env_id)
        self._new_episode()

    def load_checkpoint(self) -> None:
        """Restore the state of the newest checkpoint, then cut the logs back to it.

        Everything is read and checked before the logs are touched.

        Raises
        ------
        ValueError
            Naming the checkpoint's file, for a missing, damaged or crafted checkpoint
            (:meth:`smgrnn_ref.rundir.RunDir.read_checkpoint`, :func:`check_state`).
        """
        ck = self.run_dir.read_checkpoint(max_rows=self.cfg.dataset_capacity)
        state = ck.state
        check_state(state, self.cfg, where=ck.path / STATE_FILE)
        if ck.dataset["capacity"] != self.cfg.dataset_capacity:
            raise ValueError(f"{ck.path / DATASET_FILE}: capacity {ck.dataset['capacity']} is not the run's "
                             f"dataset_capacity {self.cfg.dataset_capacity}")
        self.engine = self._new_engine(ck.graph)
        self.dataset = Dataset.from_arrays(ck.dataset, self.n_inputs, self.n_actions, origin=ck.path / DATASET_FILE)
        try:
            self.rng = {name: _generator(state["rng"][name]) for name in STREAMS}
        except (TypeError, KeyError, ValueError) as err:
            raise ValueError(f"{ck.path / STATE_FILE}: malformed training state: 'rng' ({err})") from None
        try:
            self.episode = TrainingEpisode(self.cfg.env_id)
            self.episode.restore(state["episode"], where=ck.path)
        except (TypeError, KeyError, IndexError, AssertionError, OverflowError) as err:
            raise ValueError(f"{ck.path / STATE_FILE}: malformed training state "
                             f"({type(err).__name__}: {err})") from None
        self.step, self.episodes, self.wall_time = state["step"], state["episodes"], state["wall_time"]
        self.last_eval, self.interval = state["last_eval"], Interval(state["interval"])
        self.run_dir.rewind(ck)  # the logs may hold lines written after the checkpoint

    def _new_episode(self) -> None:
        self.episode.reset(int(self.rng["env"].integers(0, ENV_SEED_BOUND)))

    # -- one training step -------------------------------------------------------------------

    def train_step(self, t: int) -> list:
        """Training step ``t``: label, act, one optimizer step, one SPM step; its SPM events
        (and, in :attr:`candidates`, the candidate set of a pruning step)."""
        cfg, ep = self.cfg, self.episode
        # 1. the teacher labels the visited state (its target: logits, probabilities, a one-hot
        #    action or a continuous action); the pair joins the bounded dataset
        label = self.teacher.targets(ep.obs[None, :])
        self.dataset.add(ep.obs, label[0])
        # 2. act: the teacher with probability beta_t, else the student; greedily both (argmax,
        #    or the continuous action clipped to the bounds)
        beta = mixing_beta(t, beta0=cfg.beta0, mix_steps=cfg.mix_steps)
        if self.rng["mix"].random() < beta:
            action = greedy_actions(label, self.action_space)[0]
        else:
            action = greedy_actions(self.engine.forward(ep.obs[None, :]), self.action_space)[0]
        if ep.step(action):
            self.interval.add_return(ep.ret)
            self.episodes += 1
            self._new_episode()
        # 3. one optimizer step on a minibatch of the dataset
        X, Y = self.dataset.sample(cfg.batch_size, self.rng["batch"])
        self.interval.add_loss(self.engine.train_step(X, Y))
        # 4. one SPM step; a pruning step also reports the candidate set W_t it judged
        self.candidates = []
        events = self.engine.spm_step(t, self.rng["spm"], on_candidates=self.candidates.append)
        self.interval.count(events)
        return events

    # -- the loop ----------------------------------------------------------------------------

    def run(self, *, pictures: bool = True) -> dict:
        """Train up to ``cfg.steps`` (or until :meth:`capped`); then :meth:`finish`.

        Ctrl-C or SIGTERM lets the current step finish, then checkpoints and raises
        ``KeyboardInterrupt`` (at any step, the last one included: ``graph.json`` is then
        written by the resume); an exception between steps checkpoints and propagates.
        """
        cfg = self.cfg
        with StopRequest() as stop, RunProgress(total=cfg.steps, initial=self.step, enabled=self.progress,
                                                desc=run_name(cfg.env_id, cfg.variant, cfg.seed)) as bar:
            self._show(bar)
            self._clock = time.perf_counter()
            try:
                while self.step < cfg.steps and not self.capped():
                    stop.raise_if_requested()
                    t = self.step + 1
                    if self.on_step is not None:
                        self.on_step(t)
                    self._consistent = False
                    events = self.train_step(t)
                    self.step = t
                    self.run_dir.append_events(events)
                    self.run_dir.append_prune_candidates(self.candidates)
                    self._consistent = True
                    self._after_step(t, bar)
                stop.raise_if_requested()  # a stop during the last step too: it has checkpointed
            except BaseException:
                # between steps the in-memory state is whole: save it. Mid-step it may be half
                # updated, so the previous checkpoint stays the one to resume from.
                if self._consistent and self.run_dir.latest_checkpoint() is not None:
                    self._tick()
                    self.write_checkpoint()
                raise
            finally:
                self.close()
        return self.finish(pictures=pictures)

    def _after_step(self, t: int, bar: RunProgress) -> None:
        """The snapshot, evaluation, metrics row and checkpoint due after step ``t``."""
        cfg = self.cfg
        last = t == cfg.steps or self.capped()
        if t % cfg.frame_every == 0 or last:
            self._write_snapshot()
        evaluation = None
        if t % cfg.eval_every == 0 or last:
            evaluation = self.last_eval = self.evaluator(self.engine, self.step)
        if t % cfg.log_every == 0 or evaluation is not None:
            self._tick()
            self._log_row(evaluation)
        if t % cfg.checkpoint_every == 0 or last:
            self._tick()
            self.write_checkpoint()
        bar.update()
        if evaluation is not None or t % cfg.frame_every == 0:
            self._show(bar)

    def capped(self) -> bool:
        """Whether the network holds more than ``cfg.max_params`` parameters (never when
        ``max_params`` is None). Counted on the engine's structure, without a sync."""
        if self.cfg.max_params is None:
            return False
        G = self.engine.structure
        # n_params = edges + one bias per non-input node; inputs are never added or removed
        return G.number_of_edges() + G.number_of_nodes() - self.n_inputs > self.cfg.max_params

    def _tick(self) -> None:
        """Add the time since the last tick to ``wall_time``: the training loop's own time
        (steps, evaluations, logs, checkpoints), summed over resumed sessions."""
        now = time.perf_counter()
        self.wall_time += now - self._clock
        self._clock = now

    # -- what a step records -----------------------------------------------------------------

    def _write_snapshot(self) -> None:
        self.run_dir.append_snapshot(snapshot(self.engine.graph, self.step))

    def _log_row(self, evaluation) -> None:
        G = self.engine.graph
        self.run_dir.append_metrics({
            "step": self.step,
            "episodes": self.episodes,
            "beta": mixing_beta(self.step, beta0=self.cfg.beta0, mix_steps=self.cfg.mix_steps),
            "eval_return_mean": evaluation["mean"] if evaluation else None,
            "eval_return_std": evaluation["std"] if evaluation else None,
            "hidden_nodes": len(hidden_nodes(G)),
            "edges": G.number_of_edges(),
            "params": n_params(G),
            "dataset_size": len(self.dataset),
            "wall_time": round(self.wall_time, 3),
            **self.interval.cells(),
        })
        self.interval = Interval()

    def write_checkpoint(self) -> Path:
        """Write the whole training state to ``checkpoint/`` atomically
        (:meth:`smgrnn_ref.rundir.RunDir.write_checkpoint`)."""
        return self.run_dir.write_checkpoint(self.engine.graph, self.dataset.arrays(), {
            "step": self.step,
            "episodes": self.episodes,
            "wall_time": self.wall_time,
            "last_eval": self.last_eval,
            "interval": self.interval.state,
            "episode": self.episode.to_dict(),
            "rng": {name: self.rng[name].bit_generator.state for name in STREAMS},
        })

    def _show(self, bar: RunProgress) -> None:
        bar.show(self.step, self.last_eval, self.engine.graph)

    # -- the end -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the training and evaluation environments."""
        if self.episode is not None:
            self.episode.close()
        self.evaluator.close()

    def finish(self, *, pictures: bool = True) -> dict:
        """Write ``graph.json`` and the pictures; return a summary of the run."""
        G = self.engine.graph
        self.run_dir.write_graph(G)
        if pictures:
            from ..viz import draw_run_pictures  # Figure objects: no backend is forced on the caller

            draw_run_pictures(self.run_dir.path, title=f"{self.cfg.env_id} {self.cfg.variant} seed {self.cfg.seed}")
        ev = self.last_eval or {}
        return {
            "out_dir": str(self.out),
            "step": self.step,
            "eval_return_mean": ev.get("mean"),
            "eval_return_std": ev.get("std"),
            "hidden_nodes": len(hidden_nodes(G)),
            "edges": G.number_of_edges(),
            "params": n_params(G),
            "wall_time": self.wall_time,
            "capped": self.step < self.cfg.steps and self.capped(),  # stopped early by the cap
        }


__all__ = ["STREAMS", "ENV_SEED_BOUND", "mixing_beta", "spawn_streams", "Interval", "check_state", "Trainer"]
