"""A plain (non-editable) wheel carries the templates and the migrations, and they are found from it."""
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_templates_and_migrations(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("poms_dd-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "poms_dd/_data/templates/poms_dd/base.html" in names
    assert "poms_dd/_data/migrations/env.py" in names
    assert any(n.startswith("poms_dd/_data/migrations/versions/0001") for n in names)
    assert "poms_dd/testbed/stubs/wsdbtools/__init__.py" in names or not (
        ROOT / "poms_dd/testbed/stubs/wsdbtools/__init__.py").exists()
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "poms-dd = poms_dd.cli:run_main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_finds_its_templates_and_migrations(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "wheel"), str(ROOT)], check=True, capture_output=True)
    wheel = next((tmp_path / "wheel").glob("poms_dd-*.whl"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    probe = ("import poms_dd, poms_dd.paths as p; "
             "print(poms_dd.__file__); print(p.data_dir('templates')); print(p.data_dir('migrations'))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}).stdout.split()
    assert all(line.startswith(str(target)) for line in out), out
