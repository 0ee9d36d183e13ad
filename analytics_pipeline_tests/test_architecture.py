"""The house rules of DESIGN.md, checked: dependencies point one way, no import hides in a function,
no module grows past ~400 lines. The layering lives in pyproject.toml as import-linter contracts."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analytics_pipeline.core.settings import PROJECT_ROOT
from analytics_pipeline_tests.checkout_copy import copy_checkout

PACKAGE = PROJECT_ROOT / "analytics_pipeline"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
MAX_LINES = 400


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter on the package found under ``root`` (first on the path), with ``root``'s config."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_the_package_keeps_every_layering_contract():
    result = _lint_imports(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, line, contract", [
    ("core/markdown.py", "import dagster", "core is the domain"),
    ("core/logs/windows.py", "from analytics_pipeline.core.scoring import health", "inside core depend one way"),
    ("core/features/text.py", "from analytics_pipeline.local import processes", "core is the domain"),
    ("assets/metadata.py", "from analytics_pipeline.tasks import demo", "the package depends one way"),
])
def test_breaking_a_rule_fails_the_check(tmp_path, module, line, contract):
    """The contracts can fail: a copy of the package with one forbidden import is rejected."""
    copy_checkout(tmp_path)
    target = tmp_path / "analytics_pipeline" / module
    target.write_text(target.read_text() + f"\n{line}  # deliberately breaks a rule\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    broken = [row for row in result.stdout.splitlines() if row.rstrip().endswith("BROKEN")]
    assert any(contract in row for row in broken), result.stdout


def _modules(*excluded: str) -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if p.relative_to(PACKAGE).as_posix() not in excluded]


def test_no_import_hides_inside_a_function():
    """Imports inside functions are how import circles get dodged; only the CLI imports late, so
    that ``--help`` and quick commands do not pay for Dagster and scikit-learn."""
    hidden = []
    for path in _modules("cli.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                hidden += [f"{path.relative_to(PROJECT_ROOT)}:{inner.lineno}" for inner in ast.walk(node)
                           if isinstance(inner, (ast.Import, ast.ImportFrom))]
    assert not hidden, f"imports inside functions: {hidden}"


def test_no_module_outgrows_its_seam():
    long = {str(p.relative_to(PROJECT_ROOT)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines, split them along a real seam: {long}"
