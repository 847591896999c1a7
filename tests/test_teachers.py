"""Any task, any teacher: environments named by id or module:EnvClass, teachers from the
shipped experts, expert files and Python callables, and every bad input as one clear line.

Targets are recomputed here from the teacher's own formula (tests/toy_tasks.py) or from the
expert file, never copied from a run; file digests with hashlib.
"""

import hashlib
import shutil

import gymnasium as gym
import numpy as np
import pytest

import toy_tasks
from smgrnn_ref.action_space import ActionSpace, greedy_actions
from smgrnn_ref.distill import TrainConfig, evaluate_student, resolve_teacher
from smgrnn_ref.envs import FALLBACK_MAX_EPISODE_STEPS, env_info, make_env
from smgrnn_ref.experts import EXPERT_DIR, load_expert
from smgrnn_ref.teachers import PROBE_EPISODES, load_teacher, parse_expert

RNG = np.random.default_rng(0)
CARTPOLE_OBS = RNG.normal(scale=0.2, size=(16, 4))
PENDULUM_OBS = np.column_stack([np.cos(a := RNG.uniform(-np.pi, np.pi, 16)), np.sin(a), RNG.uniform(-8, 8, 16)])


def copy_expert(env_id, dest):
    """The shipped expert's two files copied to ``dest``; returns the new stem."""
    dest.mkdir(parents=True, exist_ok=True)
    for ext in (".npz", ".json"):
        shutil.copy(EXPERT_DIR / f"{env_id}{ext}", dest / f"{env_id}{ext}")
    return dest / env_id


# ------------------------------------------------------------------ environments


def test_module_env_class_is_made_with_gymnasiums_wrappers():
    env = make_env("toy_tasks:PointMass")
    try:
        assert isinstance(env.unwrapped, toy_tasks.PointMass)
        assert isinstance(env, gym.Wrapper)  # OrderEnforcing, the passive checker, TimeLimit
        obs, _ = env.reset(seed=3)
        assert obs.shape == (2,)
    finally:
        env.close()
    info = env_info("toy_tasks:PointMass")
    assert info.observation_shape == (2,) and info.action_space.kind == "box"
    assert info.action_space.low.tolist() == [-1.0] and info.action_space.high.tolist() == [1.0]


def test_env_without_a_time_limit_is_truncated_at_the_fallback():
    env = make_env("toy_tasks:Forever")
    env.reset(seed=0)
    n, done = 0, False
    while not done:
        _, _, term, trunc, _ = env.step(0)
        n += 1
        done = term or trunc
    env.close()
    assert n == FALLBACK_MAX_EPISODE_STEPS


@pytest.mark.parametrize("env_id, message", [
    ("toy_tasks:MultiDiscreteActions",
     "has action space MultiDiscrete([2 3]); supported: Discrete(n) or a flat, bounded Box"),
    ("toy_tasks:DictObservations", "toy_tasks:DictObservations has observation space Dict('x': Box("),
    ("toy_tasks:UnboundedActions", "action space bounds must be finite"),
    ("toy_tasks:ShiftedDiscrete", "(start 1)"),
    ("Blackjack-v1", "Blackjack-v1 has observation space Tuple(Discrete(32), Discrete(11), Discrete(2)); "
                     "supported: a flat Box"),
    ("CarRacing-v3", "has observation space Box(0, 255, (96, 96, 3), uint8); supported: a flat Box"),
    ("NoSuchEnv-v0", "unknown env id 'NoSuchEnv-v0'"),
    ("CartPole-v9", "unknown env id 'CartPole-v9': Environment version `v9` for environment `CartPole` doesn't exist"),
    ("toy_tasks:NoSuchClass", "module 'toy_tasks' has no env class (or registered id) 'NoSuchClass'"),
    ("toy_tasks:not_callable", "has no env class"),
    ("no_such_module_zz:Env", "cannot import module 'no_such_module_zz' of env 'no_such_module_zz:Env'"),
])
def test_unsupported_envs_are_one_clear_line(env_id, message):
    with pytest.raises(ValueError) as info:
        env_info(env_id)
    assert message in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------------ teachers and their targets


def test_sources_are_told_apart(tmp_path):
    assert parse_expert(None) == "shipped"
    assert parse_expert("toy_tasks:pd_controller") == "callable"
    assert parse_expert("pkg.mod:Class.method") == "callable"
    assert parse_expert(str(tmp_path / "Pendulum-v1")) == "file"
    # an existing path wins over the module:function look
    odd = tmp_path / "a:b"
    odd.mkdir()
    assert parse_expert(str(odd)) == "file"


@pytest.mark.parametrize("env_id, expert, kind, loss, obs, expected", [
    ("CartPole-v1", "toy_tasks:cartpole_actions", "actions", "ce", CARTPOLE_OBS,
     lambda o: np.eye(2)[(o[:, 2] + 0.5 * o[:, 3] > 0).astype(int)]),
    ("CartPole-v1", "toy_tasks:cartpole_logits", "logits", "kl", CARTPOLE_OBS,
     lambda o: np.stack([-10 * (o[:, 2] + 0.5 * o[:, 3]), 10 * (o[:, 2] + 0.5 * o[:, 3])], axis=1)),
    ("CartPole-v1", "toy_tasks:cartpole_probs", "probs", "ce", CARTPOLE_OBS,
     lambda o: np.stack([1 / (1 + np.exp(10 * (o[:, 2] + 0.5 * o[:, 3]))),
                         1 / (1 + np.exp(-10 * (o[:, 2] + 0.5 * o[:, 3])))], axis=1)),
    # torque 3 along the velocity, outside Pendulum's [-2, 2]: the target is what the env applies
    ("Pendulum-v1", "toy_tasks:pendulum_push", "actions", "mse", PENDULUM_OBS,
     lambda o: 2.0 * np.sign(o[:, 2:3])),
    ("toy_tasks:PointMass", "toy_tasks:pd_controller", "actions", "mse", RNG.normal(size=(9, 2)),
     lambda o: np.clip(-2 * o[:, :1] - 2 * o[:, 1:], -1, 1)),
])
def test_callable_teachers_give_the_targets_their_output_kind_needs(env_id, expert, kind, loss, obs, expected):
    t = load_teacher(env_id, expert)
    assert (t.kind, t.default_loss, t.source, t.spec, t.sha256) == (kind, loss, "callable", expert, None)
    got = t.targets(obs)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected(obs), rtol=1e-12, atol=1e-12)


def test_shipped_experts_give_logits_or_actions_and_are_pinned_by_their_json():
    for env_id, kind, loss in [("CartPole-v1", "logits", "kl"), ("Pendulum-v1", "actions", "mse"),
                               ("LunarLanderContinuous-v3", "actions", "mse")]:
        t = load_teacher(env_id)
        assert (t.kind, t.default_loss, t.source, t.spec) == (kind, loss, "shipped", None)
        assert t.sha256 == hashlib.sha256((EXPERT_DIR / f"{env_id}.json").read_bytes()).hexdigest()
    e = load_expert("Pendulum-v1")
    np.testing.assert_array_equal(load_teacher("Pendulum-v1").targets(PENDULUM_OBS), e.action(PENDULUM_OBS))


def test_declaring_what_a_callable_returns():
    # undeclared floats on a discrete env are ambiguous: refused, asking for a declaration
    with pytest.raises(ValueError, match=r"logits or probabilities\? Declare it: set cartpole_floats.output"):
        load_teacher("CartPole-v1", "toy_tasks:cartpole_floats")
    assert load_teacher("CartPole-v1", "toy_tasks:cartpole_floats", "logits").kind == "logits"
    # declared probabilities are checked as probabilities: these are logits
    with pytest.raises(ValueError, match="probabilities"):
        load_teacher("CartPole-v1", "toy_tasks:cartpole_floats", "probs")
    with pytest.raises(ValueError, match="declares output 'logits', but expert_output says 'probs'"):
        load_teacher("CartPole-v1", "toy_tasks:cartpole_logits", "probs")
    with pytest.raises(ValueError, match="which a .*box.* env cannot use"):
        load_teacher("Pendulum-v1", "toy_tasks:pendulum_push", "logits")
    with pytest.raises(ValueError, match="does not fit expert Pendulum-v1 .shipped expert., which gives actions"):
        load_teacher("Pendulum-v1", None, "probs")


@pytest.mark.parametrize("env_id, expert, message", [
    ("CartPole-v1", "toy_tasks:cartpole_float_actions",
     f"returned an array of shape ({PROBE_EPISODES},) and dtype float64: a discrete teacher returns integer actions"),
    ("CartPole-v1", "toy_tasks:cartpole_out_of_range", "outside [0, 2) of Discrete(2)"),
    ("CartPole-v1", "toy_tasks:cartpole_bad_probs", "returned probabilities whose row 0 sums to 0.9, not 1"),
    ("CartPole-v1", "toy_tasks:cartpole_wrong_width",
     f"returned logits of shape ({PROBE_EPISODES}, 3) for a batch of {PROBE_EPISODES} observations"),
    ("Pendulum-v1", "toy_tasks:pendulum_flat", f"returned actions of shape ({PROBE_EPISODES},)"),
    ("Pendulum-v1", "toy_tasks:pendulum_ints", "returned actions of dtype int64; they must be floating point"),
    ("Pendulum-v1", "toy_tasks:pendulum_nan", "returned a non-finite value (NaN or inf) in row 0"),
    ("Pendulum-v1", "toy_tasks:raises", "teacher toy_tasks:raises raised RuntimeError: the controller is not ready"),
    ("Pendulum-v1", "toy_tasks:not_callable", "teacher 'toy_tasks:not_callable' is not callable (it is a int)"),
    ("Pendulum-v1", "toy_tasks:nope", "module 'toy_tasks' has no attribute 'nope'"),
    ("Pendulum-v1", "no_such_module_zz:f", "cannot import module 'no_such_module_zz' of teacher"),
    ("MountainCarContinuous-v0", None, "no expert is shipped for env 'MountainCarContinuous-v0'"),
])
def test_bad_teachers_are_one_clear_line(env_id, expert, message):
    with pytest.raises(ValueError) as info:
        load_teacher(env_id, expert)
    assert message in str(info.value), str(info.value)
    assert "\n" not in str(info.value)


def test_a_teacher_is_checked_at_every_call():
    t = load_teacher("Pendulum-v1", "toy_tasks:nan_after_a_while")  # fine on the probe states
    assert t.targets(np.array([[1.0, 0.0, 0.5]])).tolist() == [[-0.5]]
    with pytest.raises(ValueError, match=r"non-finite value \(NaN or inf\) in row 0: \[nan\]"):
        t.targets(np.array([[1.0, 0.0, 3.0]]))


# ------------------------------------------------------------------ expert files


def test_an_expert_file_is_named_by_its_stem_either_file_or_its_directory(tmp_path):
    stem = copy_expert("Pendulum-v1", tmp_path / "mine")
    digest = hashlib.sha256(stem.with_suffix(".json").read_bytes()).hexdigest()
    for given in (stem, stem.with_suffix(".npz"), stem.with_suffix(".json"), stem.parent):
        t = load_teacher("Pendulum-v1", str(given))
        assert (t.source, t.spec, t.sha256, t.kind) == ("file", str(stem), digest, "actions")
    np.testing.assert_array_equal(t.targets(PENDULUM_OBS), load_expert("Pendulum-v1").action(PENDULUM_OBS))


def test_bad_expert_files_are_one_clear_line(tmp_path):
    stem = copy_expert("Pendulum-v1", tmp_path / "bad")
    raw = bytearray(stem.with_suffix(".npz").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    stem.with_suffix(".npz").write_bytes(bytes(raw))
    other = copy_expert("CartPole-v1", tmp_path / "other")
    for env_id, expert, message in [
        ("Pendulum-v1", stem, "is corrupted: sha256"),
        ("Acrobot-v1", other, "expert " + str(other) + " was made for env 'CartPole-v1', not 'Acrobot-v1'"),
        ("Pendulum-v1", tmp_path / "missing", "expert metadata file not found"),
    ]:
        with pytest.raises(ValueError) as info:
            load_teacher(env_id, str(expert))
        assert message in str(info.value) and "\n" not in str(info.value)


def test_resolve_teacher_records_the_teacher_and_refuses_a_changed_file(tmp_path):
    stem = copy_expert("Pendulum-v1", tmp_path / "t")
    cfg, teacher = resolve_teacher(TrainConfig(env_id="Pendulum-v1", steps=10, expert=str(stem.with_suffix(".npz"))))
    digest = hashlib.sha256(stem.with_suffix(".json").read_bytes()).hexdigest()
    assert (cfg.expert, cfg.expert_output, cfg.expert_sha256, cfg.loss) == (str(stem), "actions", digest, "mse")
    assert resolve_teacher(cfg)[0] == cfg  # a resolved config resolves to itself
    # the same weights with other metadata are another teacher
    stem.with_suffix(".json").write_text(stem.with_suffix(".json").read_text() + " ")
    with pytest.raises(ValueError, match=f"has changed: its sha256 is .* the run was configured with {digest}"):
        resolve_teacher(cfg)
    with pytest.raises(ValueError, match="loss 'ce' does not fit teacher toy_tasks:cartpole_logits, which gives "
                                         "logits .*: use 'kl' or 'mse'"):
        resolve_teacher(TrainConfig(steps=10, expert="toy_tasks:cartpole_logits", loss="ce"))
    cfg, _ = resolve_teacher(TrainConfig(steps=10, expert="toy_tasks:cartpole_logits", loss="mse"))
    assert (cfg.expert, cfg.expert_output, cfg.expert_sha256, cfg.loss) == (
        "toy_tasks:cartpole_logits", "logits", None, "mse")


# ------------------------------------------------------------------ acting on continuous actions


class Recorder(gym.Wrapper):
    """Records every action passed to ``step``."""

    def __init__(self, env):
        super().__init__(env)
        self.actions = []

    def step(self, action):
        self.actions.append(np.array(action, dtype=np.float64))
        return self.env.step(action)


class Constant:
    """A 'student' whose output is the same everywhere."""

    def __init__(self, value):
        self.value = np.asarray(value, dtype=np.float64)

    def forward(self, X):
        return np.tile(self.value, (len(X), 1))


@pytest.mark.parametrize("output, applied", [(10.0, 2.0), (-7.5, -2.0), (0.25, 0.25)])
def test_evaluation_clips_the_students_action_to_the_bounds(output, applied):
    space = env_info("Pendulum-v1").action_space
    envs = [Recorder(make_env("Pendulum-v1")) for _ in range(2)]
    returns = evaluate_student(Constant([output]), "Pendulum-v1", 2, seed=5, envs=envs, action_space=space)
    assert all(len(e.actions) == 200 and all(a.tolist() == [applied] for a in e.actions) for e in envs)
    # the returns are those of the constant torque, played independently
    for i, r in enumerate(returns):
        env = make_env("Pendulum-v1")
        env.reset(seed=5 + i)
        expected = sum(env.step(np.array([applied]))[1] for _ in range(200))
        env.close()
        assert r == pytest.approx(expected, rel=1e-12)
    assert greedy_actions(np.array([[output]]), ActionSpace("box", 1, [-2.0], [2.0])).tolist() == [[applied]]


# ------------------------------------------------------------------ runs


from test_distill import listing, run_cli  # noqa: E402  (the same helpers as the other run tests)

SMALL = {"batch_size": 16, "log_every": 50, "eval_episodes": 1, "frame_every": 100, "checkpoint_every": 100,
         "engine": "reference"}


@pytest.mark.slow
def test_a_callable_teacher_on_an_env_without_a_shipped_expert_trains_end_to_end(tmp_path, capsys):
    import json

    from smgrnn_ref.distill import STREAMS
    from smgrnn_ref.rundir import read_dataset

    conf = tmp_path / "c.json"
    # the teacher acts at every step (beta = 1 throughout), so the visited states are its rollout
    conf.write_text(json.dumps({**SMALL, "eval_every": 300, "beta0": 1.0, "mix_steps": 10**6}))
    out = tmp_path / "run"
    code, io = run_cli(["--env", "MountainCarContinuous-v0", "--expert", "toy_tasks:mountain_car_pump",
                        "--steps", "300", "--config", str(conf), "--out", str(out)], capsys)
    assert code == 0, io.err
    assert "step 300, eval return" in io.out
    stored = json.loads((out / "config.json").read_text())
    assert (stored["expert"], stored["expert_output"], stored["expert_sha256"], stored["loss"]) == (
        "toy_tasks:mountain_car_pump", "actions", None, "mse")
    data = read_dataset(out / "checkpoint" / "dataset.npz")
    obs, targets = data["obs"], data["logits"]
    assert obs.shape == (300, 2) and targets.shape == (300, 1)
    np.testing.assert_array_equal(targets, np.where(obs[:, 1:2] >= 0, 1.0, -1.0))  # the teacher's actions
    # the states are the teacher's own rollout from the first episode's seed, played here
    seed = int(np.random.default_rng(np.random.SeedSequence(0).spawn(len(STREAMS))[STREAMS.index("env")])
               .integers(0, 2**31 - 1))
    env = gym.make("MountainCarContinuous-v0")
    o, _ = env.reset(seed=seed)
    for t in range(300):
        np.testing.assert_array_equal(obs[t], np.asarray(o, dtype=np.float64))
        o, _, term, trunc, _ = env.step(np.array([1.0 if o[1] >= 0 else -1.0]))
        if term or trunc:
            break
    env.close()
    assert t > 50 and term, "the pump controller reaches the flag within the run"
    # and resume of the run restates the callable teacher
    code, io = run_cli(["--resume", str(out), "--steps", "320"], capsys)
    assert code == 0 and "step 320" in io.out, io.err


@pytest.mark.slow
def test_the_student_learns_a_linear_teacher_on_an_env_of_its_own(tmp_path):
    from smgrnn_ref.config import GraphConfig, OptimizerConfig
    from smgrnn_ref.distill import train

    # a linear policy is all PointMass needs, so the static (linear) student can match its teacher;
    # a large learning rate and every input -> output edge make 300 steps enough
    cfg = TrainConfig(env_id="toy_tasks:PointMass", expert="toy_tasks:pd_controller", variant="static", steps=300,
                      eval_every=300, eval_episodes=5, mix_steps=150, log_every=100, frame_every=300,
                      checkpoint_every=300, optimizer=OptimizerConfig(lr=0.03), graph=GraphConfig(density=1.0),
                      engine="reference")
    summary = train(cfg, tmp_path / "run", progress=False, pictures=False)

    def play(policy):
        total = 0.0
        for i in range(cfg.eval_episodes):
            env = make_env("toy_tasks:PointMass")
            o, _ = env.reset(seed=cfg.eval_seed + i)
            done = False
            while not done:
                o, r, term, trunc, _ = env.step(policy(o[None, :])[0])
                total, done = total + r, term or trunc
            env.close()
        return total / cfg.eval_episodes

    teacher, idle = play(toy_tasks.pd_controller), play(lambda o: np.zeros((1, 1)))
    assert idle < teacher - 5.0  # the task is not trivial
    assert summary["eval_return_mean"] >= teacher - 0.05 * (teacher - idle)


@pytest.mark.slow
def test_bad_input_is_one_line_before_training_and_leaves_a_run_untouched(tmp_path, capsys, monkeypatch):
    import json

    monkeypatch.chdir(tmp_path)
    stem = copy_expert("Pendulum-v1", tmp_path / "teacher")
    corrupt = copy_expert("Pendulum-v1", tmp_path / "corrupt")
    raw = bytearray(corrupt.with_suffix(".npz").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    corrupt.with_suffix(".npz").write_bytes(bytes(raw))
    conf = tmp_path / "c.json"
    conf.write_text(json.dumps({**SMALL, "eval_every": 20}))
    run = tmp_path / "run"
    code, io = run_cli(["--env", "Pendulum-v1", "--expert", str(stem), "--steps", "20", "--config", str(conf),
                        "--out", str(run)], capsys)
    assert code == 0, io.err
    stored = json.loads((run / "config.json").read_text())
    assert stored["expert"] == str(stem) and stored["expert_sha256"] == hashlib.sha256(
        stem.with_suffix(".json").read_bytes()).hexdigest()
    before = listing(tmp_path)
    base = ["--steps", "20", "--config", str(conf), "--out", str(run), "--force"]
    for args, message in [
        (["--env", "NoSuchEnv-v0"], "unknown env id 'NoSuchEnv-v0'"),
        (["--env", "toy_tasks:MultiDiscreteActions"], "has action space MultiDiscrete([2 3])"),
        (["--env", "Blackjack-v1"], "has observation space Tuple("),
        (["--env", "Pendulum-v1", "--expert", "toy_tasks:pendulum_flat"], "returned actions of shape (8,)"),
        (["--env", "Pendulum-v1", "--expert", "toy_tasks:pendulum_ints"], "of dtype int64"),
        (["--env", "Pendulum-v1", "--expert", "toy_tasks:raises"], "raised RuntimeError: the controller is not ready"),
        (["--env", "Pendulum-v1", "--expert", "toy_tasks:pendulum_nan"], "non-finite value (NaN or inf)"),
        (["--env", "Pendulum-v1", "--expert", str(corrupt)], "is corrupted: sha256"),
        (["--env", "Acrobot-v1", "--expert", str(stem)], "was made for env 'Pendulum-v1', not 'Acrobot-v1'"),
        (["--env", "CartPole-v1", "--expert", "toy_tasks:cartpole_floats"], "logits or probabilities?"),
        (["--env", "Pendulum-v1", "--expert", "toy_tasks:pendulum_push", "--expert-output", "logits"],
         "cannot use"),
    ]:
        code, io = run_cli([*args, *base], capsys)
        assert code == 2, (args, io.err)
        assert io.err.startswith("smgrnn-ref: error: ") and io.err.count("\n") == 1, io.err
        assert message in io.err, (args, io.err)
        assert listing(tmp_path) == before, args
    # the teacher file changed since the run started: resume refuses it
    stem.with_suffix(".json").write_text(stem.with_suffix(".json").read_text() + "\n")
    before = listing(tmp_path)
    code, io = run_cli(["--resume", str(run), "--steps", "30"], capsys)
    assert code == 2 and "has changed: its sha256 is" in io.err and listing(tmp_path) == before
    code, io = run_cli(["--resume", str(run), "--expert", str(stem)], capsys)
    assert code == 2 and "a resumed run keeps its teacher" in io.err and listing(tmp_path) == before
    # an SB3 zip of another algorithm or for another env (made by hand, numpy only)
    from test_expert_import import _fake_zip

    from smgrnn_ref import cli

    for kwargs, env_id, message in [
        ({"policy": ("stable_baselines3.dqn.policies", "DQNPolicy")}, "CartPole-v1", "DQNPolicy is not supported"),
        ({}, "Acrobot-v1", "trained on observations of shape (4,), but Acrobot-v1 has (6,)"),
    ]:
        z = _fake_zip(tmp_path / "m.zip", **kwargs)
        code = cli.main(["expert", "import", str(z), "--env", env_id, "--out", str(tmp_path / "imported")])
        err = capsys.readouterr().err
        assert code == 2 and message in err and err.count("\n") == 1, err
        assert not (tmp_path / "imported").exists()
