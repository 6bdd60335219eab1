"""The README's first command: `poms-dd demo` sets everything up on this machine (run here with --setup-only,
twice, as a person would start it again the next day)."""
import subprocess
import sys


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
