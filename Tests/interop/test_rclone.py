"""rclone (Debian's package: Go, its own Azure Blob client) against devstorage, and cross-reads with
StorageKit (storagetool) both ways.

rclone reaches devstorage the two ways a user can configure it for a path-style endpoint:
use_emulator (the well-known key) + endpoint, and a container SAS URL made by Microsoft's SDK.
(rclone 1.60's account + key mode builds `https://{account}.{endpoint}` host-style URLs, so it cannot
address a path-style emulator.) The remotes come from RCLONE_CONFIG_* variables.
"""
import datetime
import hashlib
import json
import os
import subprocess

import pytest
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from conftest import ACCOUNT, KEY

BIG = 9 * 1024 * 1024 + 123  # above the 1 MiB chunk size set below: a multi-block upload


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def rclone(devstorage, tmp_path):
    env = dict(os.environ, RCLONE_CONFIG=str(tmp_path / "rclone.conf"),
               RCLONE_CONFIG_DEV_TYPE="azureblob", RCLONE_CONFIG_DEV_USE_EMULATOR="true",
               RCLONE_CONFIG_DEV_ENDPOINT=devstorage.blob_url, RCLONE_CONFIG_DEV_CHUNK_SIZE="1M",
               RCLONE_CONFIG_DEV_UPLOAD_CUTOFF="1M")

    def run(*args, check=True, sas_url=None):
        if sas_url:
            env.update(RCLONE_CONFIG_SAS_TYPE="azureblob", RCLONE_CONFIG_SAS_SAS_URL=sas_url)
        result = subprocess.run(["rclone", "--retries", "1", "--low-level-retries", "1", *args],
                                env=env, capture_output=True, timeout=300)
        if check and result.returncode != 0:
            raise AssertionError(f"rclone {' '.join(args)} failed ({result.returncode}):\n{result.stderr.decode()}")
        return result
    return run


@pytest.fixture
def tree(tmp_path):
    """Local files with the names that trip clients up: unicode, %, +, spaces; one multi-block file."""
    root = tmp_path / "tree"
    files = {
        "plain.txt": b"hello rclone\n",
        "\u00fc/\u00fcn\u00efc\u00f6d\u00e9 \u2713.bin": os.urandom(70_000),
        "odd/100% real+plus name.bin": os.urandom(33_333),
        "space dir/a b.txt": b"spaces everywhere",
        "big.bin": os.urandom(BIG),
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root, files


def sdk(devstorage):
    return BlobServiceClient.from_connection_string(devstorage.connection_string())


def test_copy_check_md5sum_and_sync(devstorage, rclone, tree, unique):
    root, files = tree
    container = unique("rc")
    rclone("copy", str(root), f"dev:{container}")
    rclone("check", "--download", str(root), f"dev:{container}")
    sums = dict(reversed(line.split("  ", 1)) for line in rclone("md5sum", f"dev:{container}").stdout.decode().splitlines())
    assert sums == {name: md5_hex(data) for name, data in files.items()}
    client = sdk(devstorage).get_container_client(container)
    for name, data in files.items():
        assert client.get_blob_client(name).download_blob().readall() == data
    big = client.get_blob_client("big.bin")
    assert len(big.get_block_list("committed")[0]) == 10  # 9 MiB + 123 bytes in 1 MiB chunks
    assert bytes(big.get_blob_properties().content_settings.content_md5) == hashlib.md5(files["big.bin"]).digest()

    (root / "plain.txt").write_bytes(b"changed\n")
    (root / "space dir/a b.txt").unlink()
    (root / "new file+.txt").write_bytes(b"new")
    rclone("sync", str(root), f"dev:{container}")
    names = sorted(b.name for b in client.list_blobs())
    assert "space dir/a b.txt" not in names and "new file+.txt" in names
    assert client.get_blob_client("plain.txt").download_blob().readall() == b"changed\n"
    rclone("check", "--download", str(root), f"dev:{container}")


def test_listing_with_delimiters(devstorage, rclone, tree, unique):
    root, files = tree
    container = unique("rc")
    rclone("copy", str(root), f"dev:{container}")
    top = sorted(rclone("lsf", f"dev:{container}").stdout.decode().splitlines())
    assert top == sorted(["big.bin", "odd/", "plain.txt", "space dir/", "\u00fc/"])
    everything = sorted(rclone("lsf", "-R", "--files-only", f"dev:{container}").stdout.decode().splitlines())
    assert everything == sorted(files)
    listed = json.loads(rclone("lsjson", f"dev:{container}/odd").stdout)
    assert [(item["Name"], item["Size"]) for item in listed] == [("100% real+plus name.bin", 33_333)]


def test_ranged_reads(devstorage, rclone, tree, unique):
    root, files = tree
    container = unique("rc")
    rclone("copy", str(root), f"dev:{container}")
    data = files["big.bin"]
    for offset, count in [(0, 1), (100, 1000), (1024 * 1024 - 5, 10), (BIG - 7, 7)]:
        out = rclone("cat", "--offset", str(offset), "--count", str(count), f"dev:{container}/big.bin").stdout
        assert out == data[offset:offset + count]
    assert rclone("cat", "--offset", str(BIG - 10), f"dev:{container}/big.bin").stdout == data[-10:]


def test_moveto_and_copyto_are_server_side(devstorage, rclone, tree, unique):
    root, files = tree
    container, other = unique("rc"), unique("rc")
    rclone("copy", str(root), f"dev:{container}")
    rclone("mkdir", f"dev:{other}")
    moved = rclone("-v", "moveto", f"dev:{container}/big.bin", f"dev:{container}/moved/b\u00efg 100%+.bin")
    assert b"server-side" in moved.stderr
    client = sdk(devstorage).get_container_client(container)
    assert not client.get_blob_client("big.bin").exists()
    target = client.get_blob_client("moved/b\u00efg 100%+.bin")
    assert target.download_blob().readall() == files["big.bin"]
    properties = target.get_blob_properties()
    assert properties.copy.status == "success" and properties.copy.id
    assert bytes(properties.content_settings.content_md5) == hashlib.md5(files["big.bin"]).digest()
    copied = rclone("-v", "copyto", f"dev:{container}/odd/100% real+plus name.bin", f"dev:{other}/copy of odd.bin")
    assert b"server-side" in copied.stderr
    assert rclone("cat", f"dev:{other}/copy of odd.bin").stdout == files["odd/100% real+plus name.bin"]
    rclone("check", "--download", str(root / "odd"), f"dev:{container}/odd")


def test_settier_delete_and_purge(devstorage, rclone, tree, unique):
    root, files = tree
    container = unique("rc")
    rclone("copy", str(root), f"dev:{container}")
    rclone("settier", "Cool", f"dev:{container}/plain.txt")
    client = sdk(devstorage).get_container_client(container)
    assert client.get_blob_client("plain.txt").get_blob_properties().blob_tier == "Cool"
    rclone("delete", "--include", "*.txt", f"dev:{container}")
    assert sorted(b.name for b in client.list_blobs()) == sorted(n for n in files if not n.endswith(".txt"))
    rclone("purge", f"dev:{container}")
    assert container not in [c.name for c in sdk(devstorage).list_containers()]


def test_container_sas_url_remote(devstorage, rclone, tmp_path, unique):
    container = unique("rc")
    sdk(devstorage).create_container(container)
    sas = generate_container_sas(
        ACCOUNT, container, account_key=KEY,
        permission=ContainerSasPermissions(read=True, add=True, create=True, write=True, delete=True, list=True),
        expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
    url = f"{devstorage.blob_url}/{container}?{sas}"
    data = os.urandom(2 * 1024 * 1024 + 1)
    (tmp_path / "clip.bin").write_bytes(data)
    rclone("copyto", str(tmp_path / "clip.bin"), f"sas:{container}/in/clip 1+%.bin", sas_url=url)
    assert sorted(rclone("lsf", "-R", f"sas:{container}", sas_url=url).stdout.decode().splitlines()) == ["in/", "in/clip 1+%.bin"]
    moved = rclone("-v", "moveto", f"sas:{container}/in/clip 1+%.bin", f"sas:{container}/out/clip.bin", sas_url=url)
    assert b"server-side" in moved.stderr  # Copy Blob whose source the request's own container SAS authorizes
    assert rclone("cat", f"sas:{container}/out/clip.bin", sas_url=url).stdout == data
    assert sdk(devstorage).get_blob_client(container, "out/clip.bin").download_blob().readall() == data
    rclone("delete", f"sas:{container}", sas_url=url)
    assert list(sdk(devstorage).get_container_client(container).list_blobs()) == []


def test_crossreads_with_storagekit(devstorage, rclone, tmp_path, unique):
    container = unique("rc")
    data = os.urandom(5 * 1024 * 1024 + 77)
    source = tmp_path / "from storagekit.bin"
    source.write_bytes(data)
    with open(source, "rb") as stdin:
        devstorage.tool("upload", "--container", container, "--blob", "sk/\u00fc 100%+.bin", "--block-size", str(1 << 20), stdin=stdin)
    assert rclone("cat", f"dev:{container}/sk/\u00fc 100%+.bin").stdout == data
    assert rclone("md5sum", f"dev:{container}/sk").stdout.decode().split()[0] == md5_hex(data)

    written = os.urandom(3 * 1024 * 1024 + 9)
    (tmp_path / "from rclone.bin").write_bytes(written)
    rclone("copyto", str(tmp_path / "from rclone.bin"), f"dev:{container}/rc/a b+%.bin")
    out = tmp_path / "back.bin"
    devstorage.tool("get", "--container", container, "--blob", "rc/a b+%.bin", "--out", str(out))
    assert out.read_bytes() == written
    listing = devstorage.tool("list", "--container", container).stdout.decode()
    assert f"{len(written)}\trc/a b+%.bin" in listing
    properties = sdk(devstorage).get_blob_client(container, "rc/a b+%.bin").get_blob_properties()
    assert bytes(properties.content_settings.content_md5) == hashlib.md5(written).digest()
