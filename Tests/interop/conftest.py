"""Fixtures: a real devstorage process on free ports with a fresh data directory.

The binary comes from DEVSTORAGE_BIN (default .build/debug/devstorage); StorageKit's command
line from STORAGE_TOOL_BIN (default .build/debug/storagetool).
"""
import os
import socket
import subprocess
import tempfile
import time
import shutil

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEVSTORAGE_BIN = os.environ.get("DEVSTORAGE_BIN", os.path.join(ROOT, ".build/debug/devstorage"))
STORAGE_TOOL_BIN = os.environ.get("STORAGE_TOOL_BIN", os.path.join(ROOT, ".build/debug/storagetool"))
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"devstorage did not listen on {port}")


class DevStorage:
    def __init__(self):
        self.data_dir = tempfile.mkdtemp(prefix="devstorage-interop-")
        self.blob_port = free_port()
        self.queue_port = free_port()
        self.process = None
        self.start()

    def start(self):
        env = dict(os.environ, DEVSTORAGE_DATA_DIR=self.data_dir, DEVSTORAGE_BLOB_PORT=str(self.blob_port),
                   DEVSTORAGE_QUEUE_PORT=str(self.queue_port), DEVSTORAGE_HOST="127.0.0.1", DEVSTORAGE_LOG_LEVEL="warning")
        self.log = open(os.path.join(self.data_dir, "..", os.path.basename(self.data_dir) + ".log"), "ab")
        self.process = subprocess.Popen([DEVSTORAGE_BIN], env=env, stdout=self.log, stderr=self.log)
        wait_for_port(self.blob_port)
        wait_for_port(self.queue_port)

    def stop(self, kill=False):
        if self.process and self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            self.process.wait(timeout=20)
        self.log.close()

    def restart(self):
        self.stop()
        self.start()

    @property
    def blob_url(self):
        return f"http://127.0.0.1:{self.blob_port}/{ACCOUNT}"

    @property
    def queue_url(self):
        return f"http://127.0.0.1:{self.queue_port}/{ACCOUNT}"

    def connection_string(self, key=KEY):
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};"
                f"BlobEndpoint={self.blob_url};QueueEndpoint={self.queue_url};")

    def tool(self, *args, stdin=None):
        env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=self.connection_string())
        return subprocess.run([STORAGE_TOOL_BIN, *args], env=env, stdin=stdin, capture_output=True, check=True, timeout=300)


@pytest.fixture(scope="session")
def devstorage():
    server = DevStorage()
    yield server
    server.stop()
    shutil.rmtree(server.data_dir, ignore_errors=True)


@pytest.fixture
def unique():
    counter = {"n": 0}

    def make(prefix="t"):
        counter["n"] += 1
        return f"{prefix}{int(time.time() * 1000) % 10**9}{os.getpid() % 1000}{counter['n']}"
    return make
