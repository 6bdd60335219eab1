"""A plain (non-editable) wheel carries the templates and the migrations, and they are found from it."""
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _build_wheel(tmp_path: Path) -> Path:
    """Build the wheel from a fresh copy of the project's files (a stale ./build could hide a missing file)."""
    src = tmp_path / "src"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(src)], check=True, capture_output=True)
    return next(out.glob("poms_dd-*.whl"))


def test_wheel_ships_templates_and_migrations(tmp_path):
    wheel = _build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "poms_dd/_data/templates/poms_dd/base.html" in names
    assert "poms_dd/_data/migrations/env.py" in names
    assert any(n.startswith("poms_dd/_data/migrations/versions/0001") for n in names)
    assert "poms_dd/mql/_stubs/wsdbtools/__init__.py" in names          # MetaCat's parser needs it
    assert {"poms_dd/openapi.yaml", "poms_dd/static/poms_dd.css", "poms_dd/_data/config/demo_campaign.ini"} <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "poms-dd = poms_dd.cli:run_main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_finds_its_templates_and_migrations(tmp_path):
    wheel = _build_wheel(tmp_path)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    probe = ("import poms_dd, poms_dd.paths as p, poms_dd.mql as m; "
             "print(poms_dd.__file__); print(p.data_dir('templates')); print(p.data_dir('migrations')); "
             "import os; assert os.path.isdir(os.path.join(m.STUB_DIR, 'wsdbtools')); print(m.STUB_DIR)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}).stdout.split()
    assert all(line.startswith(str(target)) for line in out), out
