"""The processor's command-line flags work as the README documents them (issue 13 item 8): every
configuration key is also a flag (`processor.concurrency` → `--processor-concurrency`), and a flag
wins over the key's environment variable. Before, `processor serve` read the environment only and
refused the documented flags ("Unknown option")."""
import base64
import json
import os
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import PROCESSOR_BIN, free_port, wait_for_port, wait_until


def ready(port):
    try:
        return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5).read())["status"] == "ready"
    except urllib.error.HTTPError:
        return False


@pytest.mark.parametrize("command", [["serve"], []], ids=["serve", "default-command"])
def test_flags_configure_the_daemon_and_win_over_the_environment(devstorage, tmp_path, command):
    temp = tmp_path / "work"
    temp.mkdir()
    # A work directory a killed worker left (its owner's lock is free): swept at start from the flag's directory.
    (temp / "mediapipeline-0123456789abcdef-1700000000000-old-job").mkdir()
    port, env_port = free_port(), free_port()
    wrong_key = base64.b64encode(b"not the account key" * 3).decode()
    env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=devstorage.connection_string(key=wrong_key),
               PROCESSOR_HOST="127.0.0.1", PROCESSOR_PORT=str(env_port), PROCESSOR_CONCURRENCY="5",
               PROCESSOR_TEMP_DIR=str(tmp_path), PROCESSOR_LOG_LEVEL="warning")
    log_path = tmp_path / "processor.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [PROCESSOR_BIN, *command, "--processor-port", str(port), "--processor-concurrency", "3",
             "--processor-temp-dir", str(temp), "--processor-log-level", "info",
             "--azure-storage-connection-string", devstorage.connection_string()],
            env=env, stdout=log, stderr=log)
    try:
        wait_for_port(port)  # the flag's port, not PROCESSOR_PORT's
        # The flag's connection string (the environment's has a wrong key: storage would answer 403).
        wait_until(lambda: ready(port), timeout=30, message="readiness with the flag's storage account")
        logs = lambda: log_path.read_text(errors="replace")
        # An info line: the flag's level (the environment's, warning, would hide it), the flag's concurrency.
        wait_until(lambda: "processor polling" in logs(), timeout=30, message="the worker's info line")
        assert "concurrency=3" in logs(), logs()
        assert os.listdir(temp) == [], os.listdir(temp)  # swept from --processor-temp-dir
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{env_port}/healthz", timeout=1)
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_a_misspelt_flag_is_refused(devstorage):
    result = subprocess.run([PROCESSOR_BIN, "serve", "--processor-concurency", "3"], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=devstorage.connection_string()))
    assert result.returncode != 0 and "--processor-concurency" in result.stderr


def test_help_lists_the_documented_flags():
    result = subprocess.run([PROCESSOR_BIN, "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    section = readme[readme.index("### processor"):readme.index("### devstorage")]
    import re
    keys = re.findall(r"^\| `(processor\.[a-z.]+)`", section, re.M)
    assert len(keys) > 10
    for key in keys:
        flag = "--" + key.replace(".", "-")
        assert flag in result.stdout, (flag, result.stdout)
