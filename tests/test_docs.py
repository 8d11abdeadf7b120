"""The docs stay true: every ```python block in docs/*.md and README.md runs.

Blocks of one file run in order in one fresh interpreter (later blocks may use earlier names).
Blocks fenced as ```py are shown but not run (long trainings, commands that write files).
"""

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks(path: pathlib.Path) -> list[str]:
    return BLOCK.findall(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", [p for p in DOCS if _blocks(p)], ids=lambda p: p.name)
def test_docs__python_blocks_run(path, tmp_path):
    """All runnable examples of this page execute without error (in a scratch directory)."""
    script = "\n\n".join(_blocks(path))
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"MPLBACKEND": "Agg", "PATH": "", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, f"{path.name} examples failed:\n{result.stderr[-3000:]}"
