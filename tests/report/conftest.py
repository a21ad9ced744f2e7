import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "store_v1"  # diverging.py: a user model, NaN at step 3


def benchbox(*args, cwd):
    env = {
        **os.environ,
        "PYTHONWARNINGS": "ignore",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(FIXTURES), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchbox", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=900
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.fixture(scope="session")
def smoke_store(tmp_path_factory):
    """A store of real smoke runs for the report's formats: toy2d (two GANs and a user model that diverges) and
    digits (a GAN, a VAE and a DDPM with its DDIM row, on two seeds), with their sample previews."""
    folder = tmp_path_factory.mktemp("smoke")
    store = str(folder / "results.db")
    benchbox(
        "run", "--suite", "toy2d", "--budget", "smoke", "--models", "gan-ns,pacgan2,diverging:factory",
        "--seeds", "0,1", "--store", store, cwd=folder,
    )  # fmt: skip
    benchbox(
        "run", "--suite", "digits", "--budget", "smoke", "--models", "dcgan,vae,ddpm", "--seeds", "0,1",
        "--store", store, cwd=folder,
    )  # fmt: skip
    return Path(store)
