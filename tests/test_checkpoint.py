"""Checkpoints hold plain data and load without running code: a pickle that would run code is refused and does not
run; a state holding anything else is refused before it is written (and a user's model at its pre-flight)."""

import os
import pathlib
import pickle

import numpy as np
import pytest
import torch

from benchbox import checkpoint
from benchbox.cli import main
from benchbox.errors import BenchboxError

CKPT = pathlib.Path("checkpoints/toy2d/v1/smoke/ring8/gan-ns/seed0/last.pt")


class Payload:
    """Unpickled, it would create `marker`: what a checkpoint planted in a results folder could do on --resume."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_the_payload_runs_under_a_plain_unpickler(tmp_path):
    """So that 'the marker was not created' below means 'refused', not 'the payload was harmless'."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()


def test_resume_refuses_a_checkpoint_that_would_run_code_and_does_not_run_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    path = tmp_path / CKPT
    path.parent.mkdir(parents=True)
    torch.save({"model": {"w": torch.zeros(2)}, "step": 10, "protocol_hash": "x", "evil": Payload(marker)}, path)
    code = main(["run", "--suite", "toy2d", "--budget", "smoke", "--models", "gan-ns", "--seeds", "0", "--jobs", "1",
                 "--store", str(tmp_path / "results.db"), "--resume"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and not marker.exists()
    assert err[-1].startswith("benchbox: error: checkpoint") and "could run code" in err[-1] and "--resume" in err[-1]


def test_a_truncated_checkpoint_is_one_line(tmp_path):
    path = tmp_path / "last.pt"
    checkpoint.save_atomic({"step": 1, "w": torch.ones(100)}, path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(BenchboxError, match="is unreadable") as info:
        checkpoint.load(path)
    assert "\n" not in str(info.value)


def test_plain_state_round_trips_with_weights_only(tmp_path):
    rng = np.random.default_rng(0)
    state = {
        "model": {"w": torch.randn(3), "step": 4, "name": "g", "k": 0.5, "on": True, "none": None},
        "python_rng": (3, tuple(range(5)), None),
        "history": [{"step": 2, "loss": 0.25}],
        "numpy_rng": {"key": rng.integers(0, 2**32, 4, dtype=np.uint32).tolist(), "pos": 3},
    }
    checkpoint.save_atomic(state, tmp_path / "last.pt")
    back = torch.load(tmp_path / "last.pt", weights_only=True)  # torch's own safe loader, not benchbox's
    assert torch.equal(back["model"]["w"], state["model"]["w"])
    assert {k: v for k, v in back.items() if k != "model"} == {k: v for k, v in state.items() if k != "model"}


@pytest.mark.parametrize(
    ("state", "where"),
    [
        ({"model": {"scale": np.ones(3)}}, "state['model']['scale'] is a numpy.ndarray"),
        ({"seen": {1, 2}}, "state['seen'] is a builtins.set"),
        ({"layers": [torch.ones(1), object()]}, "state['layers'][1] is a builtins.object"),
        ({(1, 2): torch.ones(1)}, "state has a key of type tuple"),
    ],
)
def test_a_state_beyond_plain_data_is_refused_before_a_file_is_written(tmp_path, state, where):
    with pytest.raises(BenchboxError) as info:
        checkpoint.save_atomic(state, tmp_path / "last.pt")
    assert where in str(info.value) and "torch.from_numpy" in str(info.value)
    assert os.listdir(tmp_path) == []


def test_the_numpy_rng_state_is_plain_and_restores_the_stream():
    from benchbox.runner.training import numpy_rng_state

    np.random.seed(7)
    np.random.rand(5)
    state = numpy_rng_state()
    assert checkpoint.plain_problem(state) is None
    expected = np.random.rand(4)
    np.random.seed(123)
    np.random.set_state(state)
    assert np.array_equal(np.random.rand(4), expected)


USER_MODEL = """
import numpy as np
import torch

class Model:
    examples_per_step = 8

    def train_step(self, batch):
        return {"loss": 1.0}

    def sample(self, n, generator):
        return torch.randn(n, 2, generator=generator)

    def state_dict(self):
        return {"mean": np.zeros(2)}

    def load_state_dict(self, state):
        pass

def factory(ctx):
    return Model()
"""


def test_a_users_state_dict_with_a_numpy_array_is_refused_at_the_preflight(tmp_path, monkeypatch, capsys):
    (tmp_path / "npmodel.py").write_text(USER_MODEL)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    code = main(["run", "--suite", "toy2d", "--budget", "smoke", "--models", "npmodel:factory", "--jobs", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "state_dict()['mean'] is a numpy.ndarray" in err[0] and "npmodel.py" in err[0]
    assert not (tmp_path / "benchbox-results").exists()  # refused before the store was made
