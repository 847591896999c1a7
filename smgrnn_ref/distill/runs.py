"""Start a distillation run (:func:`train`) or continue one from its checkpoint (:func:`resume`).

These are what ``smgrnn-ref train`` and ``smgrnn-ref train --resume`` call. Both check
everything they can (config, environment, expert, output directory, checkpoint) before they
create or delete anything, hold the run directory's lock while they write it, then hand the
run to a :class:`~smgrnn_ref.distill.trainer.Trainer`.
"""

from __future__ import annotations

from pathlib import Path

from ..graph import n_params
from ..rundir import CONFIG_FILE, RunDir, default_out_dir
from .train_config import TrainConfig, load_config, save_config
from .trainer import Trainer


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


def _rehearse(cfg: TrainConfig, out: Path) -> None:
    """Build the step-0 state and take step 1 in memory, writing nothing, so that a config that
    cannot run fails before an old run is deleted or a file written: an activation no node
    has, a dataset too large to allocate, a cap below the step-0 network, a step that raises.

    Raises
    ------
    ValueError
        Naming the problem.
    """
    dry = Trainer(cfg, out, progress=False)
    try:
        try:
            dry.build_fresh()
        except MemoryError as err:
            raise ValueError(f"TrainConfig.dataset_capacity={cfg.dataset_capacity} cannot be allocated: {err}") from None
        p0 = n_params(dry.engine.structure)
        if cfg.max_params is not None and p0 > cfg.max_params:
            raise ValueError(f"TrainConfig.max_params={cfg.max_params} is below the initial network's {p0} "
                             f"parameters: the run would stop before its first step")
        dry.train_step(1)
    finally:
        dry.close()


def train(cfg: TrainConfig, out_dir=None, *, force: bool = False, progress: bool = True, on_step=None,
          pictures: bool = True) -> dict:
    """Run a fresh distillation run into ``out_dir`` (default :func:`~smgrnn_ref.rundir.default_out_dir`).

    Everything is checked (config, environment, expert, output directory, the step-0 network
    and a rehearsal of step 1 in memory) before anything is created or deleted. Then the run
    directory's lock is taken (:meth:`~smgrnn_ref.rundir.RunDir.lock`) and held to the end;
    ``force`` removes only the files an old run wrote there
    (:meth:`~smgrnn_ref.rundir.RunDir.remove`).

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
        For an unsupported environment, a missing expert, a config that cannot run, an output
        directory that may not receive the run (not ours, not writable), or one another
        process is writing (:class:`~smgrnn_ref.rundir.RunInUseError`); nothing is created or
        deleted then.
    KeyboardInterrupt
        After Ctrl-C or SIGTERM (at any step, the last one included), once the run has
        checkpointed.
    """
    run = RunDir(out_dir if out_dir is not None else default_out_dir(cfg.env_id, cfg.variant, cfg.seed))
    run.check_new(force=force)
    trainer = Trainer(cfg, run.path, progress=progress, on_step=on_step)  # checks env and expert
    _rehearse(cfg, run.path)
    with run.lock():
        run.check_new(force=force, locked=True)  # again, now that no other process can change it
        run.remove()  # --force, after every check passed: only the files a run writes
        trainer.start_fresh()
        return trainer.run(pictures=pictures)


def resume(out_dir, *, steps: int | None = None, progress: bool = True, on_step=None,
           pictures: bool = True) -> dict:
    """Continue the run in ``out_dir`` from its last checkpoint, exactly.

    The config, the environment, the teacher and the checkpoint's ``state.json`` are checked
    first; then the run directory's lock is taken and held throughout, and the whole checkpoint
    is read and checked before the logs are cut back to it
    (:meth:`~smgrnn_ref.distill.trainer.Trainer.load_checkpoint`).

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
        a file of the checkpoint is missing, damaged or crafted (the message names it), the
        checkpoint cannot be restored exactly, or another process writes the run.
    """
    run = RunDir(out_dir)
    if not run.config.is_file() or run.config.is_symlink():
        raise ValueError(f"{run.path} holds no run to resume (no {CONFIG_FILE})")
    run.lock().check_free()  # before reading a checkpoint another process may be writing
    state = run.read_checkpoint_state()  # "no checkpoint to resume", or a malformed one
    cfg = load_config(run.config)
    if steps is not None and steps != cfg.steps:
        if steps < state["step"]:
            raise ValueError(f"--steps {steps} is below the checkpoint's step {state['step']}")
        cfg = cfg.replace(steps=steps)
    trainer = Trainer(cfg, run.path, progress=progress, on_step=on_step)  # checks env and teacher
    with run.lock():
        trainer.load_checkpoint()
        run.mark()  # a run made before markers existed: now it carries one
        if steps is not None:
            save_config(trainer.cfg, run.config)
        return trainer.run(pictures=pictures)


__all__ = ["prepare_out_dir", "train", "resume"]
