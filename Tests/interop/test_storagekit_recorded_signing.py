"""StorageKit's requests re-verified by Microsoft's Python SDK (issue 14, item 5).

storagetool talks to devstorage through a recording proxy. Every request it sent is then signed
again with the SDK's own SharedKeyCredentialPolicy (azure-storage-blob / azure-storage-queue) from
the method, URL and headers as they went over the wire, and the SDK's Authorization must equal the
one StorageKit sent. devstorage shares StorageKit's canonicalisation code; the SDK does not.
"""
import http.client
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.pipeline.transport import HttpRequest
from azure.storage.blob._shared.authentication import SharedKeyCredentialPolicy as BlobPolicy
from azure.storage.queue._shared.authentication import SharedKeyCredentialPolicy as QueuePolicy

from conftest import ACCOUNT, KEY


class RecordingProxy:
    """Forwards every request to `port` unchanged and records method, raw target and headers."""

    def __init__(self, port):
        self.records = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = [(name, value) for name, value in self.headers.items()]
                proxy.records.append((self.command, self.path, headers))
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    connection.putheader(name, value)
                connection.endheaders(body or None)
                response = connection.getresponse()
                data = response.read()
                self.send_response_only(response.status, response.reason)
                for name, value in response.getheaders():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                connection.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxied(devstorage):
    blob, queue = RecordingProxy(devstorage.blob_port), RecordingProxy(devstorage.queue_port)
    yield blob, queue
    blob.close()
    queue.close()


def sdk_authorization(policy_class, method, url, headers):
    request = HttpRequest(method, url, headers={n: v for n, v in headers if n.lower() != "authorization"})
    policy_class(ACCOUNT, KEY).on_request(PipelineRequest(request, PipelineContext(None)))
    return request.headers["Authorization"]


def test_every_request_storagekit_sends_verifies_with_the_sdk(devstorage, proxied, tmp_path, unique):
    blob, queue = proxied
    connection = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
                  f"BlobEndpoint=http://127.0.0.1:{blob.port}/{ACCOUNT};QueueEndpoint=http://127.0.0.1:{queue.port}/{ACCOUNT};")
    env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=connection)

    def tool(*args, stdin=None):
        import subprocess
        from conftest import STORAGE_TOOL_BIN
        return subprocess.run([STORAGE_TOOL_BIN, *args], env=env, stdin=stdin, capture_output=True, check=True, timeout=120)

    container = unique("sig")
    name = "d\u00eer/\u00fc 100%+ & ~!*'();:@=$,[] name.bin"
    small = tmp_path / "small.bin"
    small.write_bytes(os.urandom(1000))
    tool("put", "--container", container, "--blob", name, "--file", str(small), "--content-type", "application/x-test")
    with open(small, "rb") as stdin:
        tool("upload", "--container", container, "--blob", "staged.bin", "--block-size", "300", stdin=stdin)
    tool("get", "--container", container, "--blob", name, "--out", str(tmp_path / "o"), "--offset", "5", "--count", "10")
    tool("list", "--container", container, "--prefix", "d\u00eer/")
    tool("copy", "--from-container", container, "--from-blob", name, "--container", container, "--blob", "copy of it.bin")
    tool("blocks", "--container", container, "--blob", "staged.bin", "--type", "committed")
    tool("set-headers", "--container", container, "--blob", "copy of it.bin", "--content-type", "text/plain",
         "--content-language", "de-CH", "--cache-control", "no-cache")
    tool("delete", "--container", container, "--blob", "copy of it.bin")
    qname = unique("sigq")
    tool("queue-put", "--queue", qname, "--text", "signed <&>")
    tool("queue-count", "--queue", qname)
    tool("queues", "--prefix", qname)
    tool("queue-get", "--queue", qname)

    operations = set()
    for proxy, policy in ((blob, BlobPolicy), (queue, QueuePolicy)):
        assert proxy.records, "nothing was recorded"
        for method, target, headers in proxy.records:
            sent = dict((n.lower(), v) for n, v in headers)["authorization"]
            url = f"http://127.0.0.1:{proxy.port}{target}"
            assert sdk_authorization(policy, method, url, headers) == sent, f"{method} {target}"
            operations.add((method, target.split("?")[1].split("&")[0] if "?" in target else ""))
    # The run covered the requests StorageKit makes: plain and comp=… forms on both services.
    assert {("PUT", "restype=container"), ("PUT", ""), ("PUT", "comp=block"), ("PUT", "comp=blocklist"), ("GET", ""),
            ("GET", "restype=container"), ("GET", "comp=blocklist"), ("PUT", "comp=properties"), ("DELETE", ""),
            ("POST", ""), ("GET", "comp=metadata"), ("GET", "comp=list")} <= operations
