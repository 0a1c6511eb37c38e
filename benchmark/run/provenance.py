"""Where a result came from: versions, device, and the medbench source commit."""

from __future__ import annotations

import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch

import medbench
from medbench.record.schema import Environment
from medbench.run.device import describe_device

METRIC_LIBRARIES = ("torchmetrics", "pytorch-fid", "scikit-learn", "numpy", "scipy",
                    "torchvision")


def library_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def source_git_state() -> tuple[str | None, bool | None]:
    """The commit of medbench's own source tree, never of the user's working directory.

    Only an editable install from a medbench checkout has one; a wheel in site-packages
    records None.
    """
    source = Path(medbench.__file__).resolve().parent
    try:
        top = _git(source, "rev-parse", "--show-toplevel")
        if top is None or not (Path(top) / "benchmark" / "__init__.py").exists():
            return None, None
        commit = _git(source, "rev-parse", "HEAD")
        dirty = _git(source, "status", "--porcelain")
    except OSError:
        return None, None
    return commit, (bool(dirty) if commit else None)


def _git(cwd: Path, *args: str) -> str | None:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10,
                          check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def cpu_model() -> str | None:
    """The CPU's model name: Linux's /proc/cpuinfo, else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def environment(device: torch.device) -> Environment:
    commit, dirty = source_git_state()
    return Environment(
        medbench_version=medbench.__version__,
        torch_version=torch.__version__,
        python_version=platform.python_version(),
        platform=platform.platform(),
        device=str(device),
        device_name=describe_device(device),
        cpu_threads=torch.get_num_threads(),
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        cpu_model=cpu_model(),
        git_commit=commit,
        git_dirty=dirty,
        libraries={name: library_version(name) for name in METRIC_LIBRARIES},
    )
