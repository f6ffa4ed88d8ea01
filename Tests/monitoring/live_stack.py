"""The pieces of the live run: the stack (devstorage + uploader + processor from .build/debug,
started by Tests/interop/conftest.py's classes), a real Prometheus on loopback scraping it, a
webhook receiver, and small media made at run time."""
import importlib.util
import io
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml
from PIL import Image

from conftest import ROOT, RULES, tool

# Tests/interop/conftest.py as a module of its own name (ours is `conftest` too).
_spec = importlib.util.spec_from_file_location("interop_conftest", ROOT / "Tests" / "interop" / "conftest.py")
interop = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(interop)

# The only change to the rules for the live run: every alert's `for:` becomes this, so an alert
# that would need 5-15 minutes of a condition fires after seconds. Expressions, windows and
# thresholds are the shipped ones (rate windows fill from the first samples).
LIVE_FOR = "5s"


def live_rules(path):
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = LIVE_FOR
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    return path


class Prometheus:
    """Debian's prometheus on a free loopback port with a temporary data directory, scraping
    `targets` ({job: "host:port"}) every second and evaluating the rules every second."""

    def __init__(self, directory, targets):
        self.port = interop.free_port()
        rules = live_rules(directory / "rules.yaml")
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
            "rule_files": [str(rules)],
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target]}]} for job, target in targets.items()],
        }
        (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log = open(directory / "prometheus.log", "wb")
        self.process = subprocess.Popen(
            [tool("prometheus"), f"--config.file={directory / 'prometheus.yml'}", f"--storage.tsdb.path={directory / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=self.log)
        interop.wait_for_port(self.port, timeout=30)
        interop.wait_until(self.ready, timeout=60, interval=0.2, message="Prometheus ready")

    def ready(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=5) as response:
                return response.status == 200
        except OSError:  # 503 while the TSDB opens
            return False

    def api(self, path, **params):
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr):
        return self.api("query", query=expr)["result"]

    def rule_states(self):
        """{alert name: state} for every alerting rule (inactive, pending, firing)."""
        return {rule["name"]: rule["state"] for group in self.api("rules")["groups"] for rule in group["rules"] if rule["type"] == "alerting"}

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()


class WebhookReceiver:
    """Collects the processor's webhook requests (headers and JSON body)."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": json.loads(body)})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def jpeg(index, size=(96, 64)):
    picture = Image.new("RGB", size, ((index * 37) % 256, (index * 91) % 256, (index * 53) % 256))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def corrupt_jpeg():
    """A JPEG header and then nothing decodable: the processor poisons it (code corrupt)."""
    return jpeg(0)[:40] + b"\0" * 400


def upload(stack, directory, name, data, *extra, key=interop.API_KEY):
    path = directory / name
    path.write_bytes(data)
    return stack.uploader.curl(*extra, "-F", f"file=@{path}", f"{stack.uploader.url}/upload", key=key)


def wait_until(predicate, timeout, message, interval=0.5):
    return interop.wait_until(predicate, timeout=timeout, interval=interval, message=message)
