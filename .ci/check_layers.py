"""Run import-linter's contracts (pyproject.toml) over medbench's import namespace.

medbench is one namespace laid over three folders (benchmark/ is `medbench`, plugins/ is
`medbench.plugins`, datasets/ is `medbench.datasets`). import-linter walks one folder per
package, so this script lays the namespace out as one folder of symbolic links and lints
that.

    python .ci/check_layers.py [REPO]      # exit 0: every contract kept
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

FOLDERS = {"plugins": "plugins", "datasets": "datasets"}  # medbench.X -> REPO/X


def build_namespace(repo: Path, target: Path) -> Path:
    """target/medbench/ with benchmark/'s entries plus plugins/ and datasets/, as links."""
    package = target / "medbench"
    package.mkdir(parents=True)
    for entry in (repo / "benchmark").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry.resolve())
    for name, folder in FOLDERS.items():
        (package / name).symlink_to((repo / folder).resolve())
    return target


def check_layers(repo: Path) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as tmp:
        root = build_namespace(repo, Path(tmp))
        env = {**os.environ, "PYTHONPATH": str(root)}
        # Run the linter in a fresh interpreter, so `medbench` resolves to the laid-out tree.
        code = "import sys; from importlinter.cli import lint_imports_command; " \
               "sys.exit(lint_imports_command())"
        return subprocess.run([sys.executable, "-c", code, "--no-cache"], cwd=repo, env=env,
                              capture_output=True, text=True, check=False)


def main() -> int:
    repo = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
    done = check_layers(repo)
    print(done.stdout, end="")
    print(done.stderr, end="", file=sys.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
