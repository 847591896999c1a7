"""Start a distillation run (:func:`train`) or continue one from its checkpoint (:func:`resume`).

These are what ``smgrnn-ref train`` and ``smgrnn-ref train --resume`` call. Both check
everything they can (config, environment, expert, output directory, checkpoint) before they
create or delete anything, then hand the run to a :class:`~smgrnn_ref.distill.trainer.Trainer`.
"""

from __future__ import annotations

from pathlib import Path

from ..graph import n_params
from ..rundir import CONFIG_FILE, RunDir, default_out_dir
from .train_config import TrainConfig, load_config, save_config
from .trainer import Trainer, spawn_streams
from .variants import build_graph


def prepare_out_dir(out_dir, *, force: bool) -> Path:
    """Check that ``out_dir`` may receive a new run; ``ValueError`` otherwise. Changes nothing.

    A missing or empty directory is fine. A directory holding a run is refused unless
    ``force`` (the caller then replaces it). A non-empty directory that holds no run is
    refused even with ``force``: we never delete files we did not write
    (:meth:`smgrnn_ref.rundir.RunDir.check_new`).

    Parameters
    ----------
    out_dir : path
    force : bool
        Whether an existing run may be replaced.

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Raises
    ------
    ValueError
        If the directory may not receive a new run.
    """
    run = RunDir(out_dir)
    run.check_new(force=force)
    return run.path


def _check_cap(cfg: TrainConfig, trainer: Trainer) -> None:
    """Refuse a ``max_params`` below the step-0 network (the run would stop before step 1)."""
    if cfg.max_params is None:
        return
    # the step-0 network, built from its own fresh stream as start_fresh will build it
    p0 = n_params(build_graph(cfg, trainer.n_inputs, trainer.n_actions, spawn_streams(cfg.seed)["graph"]))
    if p0 > cfg.max_params:
        raise ValueError(f"TrainConfig.max_params={cfg.max_params} is below the initial network's {p0} "
                         f"parameters: the run would stop before its first step")


def train(cfg: TrainConfig, out_dir=None, *, force: bool = False, progress: bool = True, on_step=None,
          pictures: bool = True) -> dict:
    """Run a fresh distillation run into ``out_dir`` (default :func:`~smgrnn_ref.rundir.default_out_dir`).

    Everything is checked (config, environment, expert, output directory) before anything is
    created or deleted.

    Parameters
    ----------
    cfg : TrainConfig
    out_dir : path, optional
    force : bool
        Replace an existing run in ``out_dir``.
    progress : bool
        Show a tqdm progress bar.
    on_step : callable, optional
        Called as ``on_step(t)`` before step ``t``, at a step boundary (a test hook).
    pictures : bool
        Write ``training.png``, ``frames/`` and ``topology.gif`` at the end.

    Returns
    -------
    dict
        Final step, last evaluation (mean, std), hidden nodes, edges, parameters, wall time,
        and whether ``max_params`` stopped the run early (``capped``).

    Raises
    ------
    ValueError
        For an unsupported environment, a missing expert, a cap below the step-0 network or an
        output directory that may not receive the run; nothing is created or deleted then.
    KeyboardInterrupt
        After Ctrl-C or SIGTERM, once the run has checkpointed.
    """
    out = prepare_out_dir(out_dir if out_dir is not None else default_out_dir(cfg.env_id, cfg.variant, cfg.seed),
                          force=force)
    trainer = Trainer(cfg, out, progress=progress, on_step=on_step)  # checks env and expert
    _check_cap(cfg, trainer)
    trainer.run_dir.remove()  # --force, after every check passed
    trainer.start_fresh()
    return trainer.run(pictures=pictures)


def resume(out_dir, *, steps: int | None = None, progress: bool = True, on_step=None,
           pictures: bool = True) -> dict:
    """Continue the run in ``out_dir`` from its last checkpoint, exactly.

    Parameters
    ----------
    out_dir : path
        A run directory holding a checkpoint.
    steps : int, optional
        A new total number of steps (not below the checkpoint's step); other settings come
        from ``config.json``.
    progress, on_step, pictures
        As for :func:`train`.

    Returns
    -------
    dict
        The summary of :func:`train`.

    Raises
    ------
    ValueError
        If ``out_dir`` holds no run or no checkpoint, ``steps`` is below the checkpoint's step,
        or the checkpoint cannot be restored exactly.
    """
    run = RunDir(out_dir)
    if not run.config.is_file():
        raise ValueError(f"{run.path} holds no run to resume (no {CONFIG_FILE})")
    if run.latest_checkpoint() is None:
        raise ValueError(f"no checkpoint to resume in {run.path}")
    cfg = load_config(run.config)
    if steps is not None and steps != cfg.steps:
        state = run.read_checkpoint_state()
        if steps < state["step"]:
            raise ValueError(f"--steps {steps} is below the checkpoint's step {state['step']}")
        cfg = cfg.replace(steps=steps)
    trainer = Trainer(cfg, run.path, progress=progress, on_step=on_step)
    trainer.load_checkpoint()
    if steps is not None:
        save_config(trainer.cfg, run.config)
    return trainer.run(pictures=pictures)


__all__ = ["prepare_out_dir", "train", "resume"]
