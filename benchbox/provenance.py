"""Where a number came from: code version, library versions, device, and the machine (CPU model, threads, backend
settings), since float results differ across CPUs and settings: a GAN's trajectory diverges from a last-bit change."""

from __future__ import annotations

import functools
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

import torch

import benchbox


@dataclass(frozen=True)
class Environment:
    benchbox_version: str
    git_commit: str  # "<sha>", "<sha>+dirty" for uncommitted changes, or "unknown" outside a checkout
    torch_version: str
    cuda_version: str  # "" on a CPU-only torch build
    device: str  # e.g. "cpu (x86_64)" or "cuda: NVIDIA H100 80GB HBM3"
    python_version: str
    machine: str = ""  # machine_description(device)


@functools.cache
def git_commit() -> str:
    root = Path(benchbox.__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha}+dirty" if dirty else sha


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"{device.type} ({platform.machine()})"


@functools.cache
def cpu_model() -> str:
    """The CPU's model name as the OS reports it (Linux /proc/cpuinfo, macOS sysctl), else the architecture."""
    try:
        info: dict[str, str] = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), " ".join(value.split()))
        name = info.get("model name") or info.get("Model") or info.get("cpu model")
        if name:  # a VM's name may be generic ("Intel(R) Xeon(R) Processor"): family, model and stepping tell more
            ids = [f"{k.removeprefix('cpu ')} {info[k]}" for k in ("cpu family", "model", "stepping") if info.get(k)]
            return f"{name} ({', '.join(ids)})" if ids else name
    except OSError:
        pass
    try:
        out = subprocess.run(
            ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        if out:
            return out
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def backend_settings(device: torch.device) -> str:
    """The settings that decide which kernels run and how they round: SIMD level, fp32 matmul precision, oneDNN,
    deterministic algorithms, and on CUDA cuDNN's autotuner, determinism and TF32."""
    on = {True: "on", False: "off"}
    parts = [
        f"SIMD {torch.backends.cpu.get_cpu_capability()}",
        f"fp32 matmul {torch.get_float32_matmul_precision()}",
        f"oneDNN {on[torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled]}",
        f"deterministic algorithms {on[torch.are_deterministic_algorithms_enabled()]}",
    ]
    if device.type == "cuda":
        cudnn = torch.backends.cudnn
        parts += [
            f"cuDNN {cudnn.version()} benchmark {on[cudnn.benchmark]} deterministic {on[cudnn.deterministic]}",
            f"TF32 conv {on[cudnn.allow_tf32]} matmul {on[torch.backends.cuda.matmul.allow_tf32]}",
        ]
    return ", ".join(parts)


def machine_description(device: torch.device) -> str:
    """e.g. "Intel(R) Xeon(R) Platinum 8488C; 2 threads; SIMD AVX512, fp32 matmul highest, oneDNN on, deterministic
    algorithms off": what, besides the code, decides a run's last bits on this machine."""
    threads = torch.get_num_threads()
    return f"{cpu_model()}; {threads} thread{'' if threads == 1 else 's'}; {backend_settings(device)}"


def environment(device: torch.device) -> Environment:
    return Environment(
        benchbox_version=benchbox.__version__,
        git_commit=git_commit(),
        torch_version=torch.__version__,
        cuda_version=torch.version.cuda or "",
        device=describe_device(device),
        python_version=platform.python_version(),
        machine=machine_description(device),
    )
