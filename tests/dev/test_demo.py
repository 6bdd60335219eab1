"""The README's first command: `poms-dd demo` sets everything up on this machine (run here with --setup-only,
twice, as a person would start it again the next day), then runs, and the README's CLI line works against it."""
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from poms_dd.dev.devdb import free_port


def _demo(tmp_path):
    cmd = [sys.executable, "-c", "from poms_dd.cli import run_main; run_main()", "demo",
           "--dir", str(tmp_path / "demo"), "--setup-only", "--testbed-port", "0", "--files", "200"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_demo_sets_up_a_green_experiment_and_resumes(tmp_path):
    first = _demo(tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    out = first.stdout
    for service in ("MetaCat", "Data Dispatcher", "Rucio"):
        assert f"OK   {service}" in out, out
    assert "FAIL" not in out
    assert "campaign: demo_reco (imported from demo_campaign.ini)" in out
    env = (tmp_path / "demo" / "demo.env").read_text()
    assert "ENCRYPTION_KEY=" in env and oct((tmp_path / "demo" / "demo.env").stat().st_mode)[-3:] == "600"

    again = _demo(tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "campaign: demo_reco (already there)" in again.stdout
    assert again.stdout.count("OK  ") == 3

    settings_file = tmp_path / "demo" / "poms_dd.env"
    assert oct(settings_file.stat().st_mode)[-3:] == "600"
    assert "POMS_DD_DATABASE_URL=" in settings_file.read_text()
    _cli_against_the_running_demo(tmp_path / "demo")


def _cli_against_the_running_demo(demo_dir: Path):
    """README: `set -a; . .demo/poms_dd.env; set +a; poms-dd user token alice --name script` while it runs."""
    port = free_port()
    cmd = [sys.executable, "-c", "from poms_dd.cli import run_main; run_main()", "demo", "--dir", str(demo_dir),
           "--port", str(port), "--testbed-port", "0", "--files", "200"]
    demo = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        seen = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            seen.append(line)
            if "poms_dd demo is running" in line or not line:
                break
        assert "poms_dd demo is running" in "".join(seen), "".join(seen)
        env = {k: v for k, v in os.environ.items() if not k.startswith("POMS_DD_")}
        env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
        shell = "set -a; . ./poms_dd.env; set +a; poms-dd user token alice --name script"
        cli = subprocess.run(["bash", "-c", shell], cwd=demo_dir, env=env, capture_output=True, text=True,
                             timeout=120)
        assert cli.returncode == 0, cli.stderr
        token = cli.stdout.strip().splitlines()[-1]
        r = requests.get(f"http://127.0.0.1:{port}/api/whoami", headers={"Authorization": f"Bearer {token}"},
                         timeout=10)
        assert r.status_code == 200 and "alice" in r.text, r.text
    finally:
        demo.terminate()
        demo.wait(timeout=60)
