"""Cross-reads: what StorageKit (through storagetool) writes the SDK reads back byte-identical, and the other way round."""
import hashlib
import os

from azure.storage.blob import BlobServiceClient


def test_storagekit_writes_sdk_reads(devstorage, unique, tmp_path):
    name = unique("c")
    small = tmp_path / "small.bin"
    small.write_bytes(os.urandom(200_000))
    devstorage.tool("put", "--container", name, "--blob", "dir/small file.bin", "--file", str(small))
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 * 1024 * 1024 + 17))
    with open(big, "rb") as stdin:
        out = devstorage.tool("upload", "--container", name, "--blob", "staged.bin", "--block-size", str(1024 * 1024), stdin=stdin).stdout
    assert b"blocks=10" in out
    container = BlobServiceClient.from_connection_string(devstorage.connection_string()).get_container_client(name)
    assert container.get_blob_client("dir/small file.bin").download_blob().readall() == small.read_bytes()
    staged = container.get_blob_client("staged.bin")
    assert staged.download_blob().readall() == big.read_bytes()
    assert bytes(staged.get_blob_properties().content_settings.content_md5) == hashlib.md5(big.read_bytes()).digest()


def test_sdk_writes_storagekit_reads(devstorage, unique, tmp_path):
    name = unique("c")
    container = BlobServiceClient.from_connection_string(devstorage.connection_string()).create_container(name)
    data = os.urandom(3 * 1024 * 1024 + 5)
    container.upload_blob("ü/clip 01.mp4", data)
    out = tmp_path / "out.bin"
    devstorage.tool("get", "--container", name, "--blob", "ü/clip 01.mp4", "--out", str(out))
    assert out.read_bytes() == data
    part = tmp_path / "part.bin"
    devstorage.tool("get", "--container", name, "--blob", "ü/clip 01.mp4", "--out", str(part), "--offset", "100", "--count", "1000")
    assert part.read_bytes() == data[100:1100]
    listing = devstorage.tool("list", "--container", name).stdout.decode()
    assert f"{len(data)}\tü/clip 01.mp4" in listing


def test_queue_both_ways(devstorage, unique):
    from azure.storage.queue import QueueClient
    name = unique("q")
    devstorage.tool("queue-put", "--queue", name, "--text", "from StorageKit <&>")
    q = QueueClient.from_connection_string(devstorage.connection_string(), name)
    [message] = list(q.receive_messages())
    assert message.content == "from StorageKit <&>"
    q.delete_message(message)
    q.send_message("from the SDK & friends")
    out = devstorage.tool("queue-get", "--queue", name).stdout.decode().strip()
    assert out == "from the SDK & friends"
    assert devstorage.tool("queue-count", "--queue", name).stdout.decode().strip() == "0"
