"""obstore (PyPI; the Rust object_store crate's Azure client) against devstorage, and cross-reads
with StorageKit (storagetool) both ways.

The store is configured as a user points object_store at Azurite: use_emulator with the emulator URL
(AZURITE_BLOB_STORAGE_URL), and, separately, account + key + endpoint.
"""
import hashlib
import os
import subprocess
from datetime import timedelta

import obstore
import pytest
from azure.storage.blob import BlobServiceClient
from obstore.exceptions import AlreadyExistsError, PreconditionError
from obstore.store import AzureStore

from conftest import ACCOUNT, KEY

ODD = ["\u00fc/\u00fcn\u00efc\u00f6d\u00e9 \u2713.bin", "odd/100% real+plus name.bin", "space dir/a b.txt", "plain.txt"]


def sdk_container(devstorage, container):
    return BlobServiceClient.from_connection_string(devstorage.connection_string()).get_container_client(container)


@pytest.fixture
def store(devstorage, unique, monkeypatch):
    container = unique("ob")
    sdk_container(devstorage, container).create_container()
    monkeypatch.setenv("AZURITE_BLOB_STORAGE_URL", f"http://127.0.0.1:{devstorage.blob_port}")
    return AzureStore(container_name=container, account_name=ACCOUNT, use_emulator=True,
                      client_options={"allow_http": True})


def curl(*args):
    result = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", *args], capture_output=True, timeout=60)
    body, _, status = result.stdout.rpartition(b"\n")
    return int(status), body


def test_put_get_head_list_with_odd_names(devstorage, store):
    blobs = {name: os.urandom(10_000 + i) for i, name in enumerate(ODD)}
    for name, data in blobs.items():
        obstore.put(store, name, data)
    for name, data in blobs.items():
        assert obstore.get(store, name).bytes().to_bytes() == data
        meta = obstore.head(store, name)
        assert meta["size"] == len(data) and meta["path"] == name
    listed = sorted(item["path"] for batch in obstore.list(store) for item in batch)
    assert listed == sorted(blobs)
    top = obstore.list_with_delimiter(store)
    assert sorted(top["common_prefixes"]) == ["odd", "space dir", "\u00fc"]
    assert [o["path"] for o in top["objects"]] == ["plain.txt"]
    nested = obstore.list_with_delimiter(store, "odd")
    assert [o["path"] for o in nested["objects"]] == ["odd/100% real+plus name.bin"]
    container = sdk_container(devstorage, store.config["container_name"])
    for name, data in blobs.items():
        assert container.get_blob_client(name).download_blob().readall() == data


def test_ranged_reads(store):
    data = os.urandom(3 * 1024 * 1024 + 5)
    obstore.put(store, "r/data.bin", data)
    for start, end in [(0, 1), (100, 1100), (1024 * 1024 - 3, 1024 * 1024 + 3), (len(data) - 5, len(data))]:
        assert obstore.get_range(store, "r/data.bin", start=start, end=end).to_bytes() == data[start:end]
    assert obstore.get_range(store, "r/data.bin", start=len(data) - 10, length=100).to_bytes() == data[-10:]
    ranges = obstore.get_ranges(store, "r/data.bin", starts=[0, 500], ends=[10, 600])
    assert [r.to_bytes() for r in ranges] == [data[0:10], data[500:600]]
    with pytest.raises(Exception):
        obstore.get_range(store, "r/data.bin", start=len(data) + 10, end=len(data) + 20)


def test_multipart_put_is_byte_identical_with_right_md5(devstorage, store):
    data = os.urandom(12 * 1024 * 1024 + 321)
    obstore.put(store, "big/clip 01.bin", data, chunk_size=5 * 1024 * 1024, max_concurrency=3)
    assert obstore.get(store, "big/clip 01.bin").bytes().to_bytes() == data
    blob = sdk_container(devstorage, store.config["container_name"]).get_blob_client("big/clip 01.bin")
    committed, _ = blob.get_block_list("committed")
    assert len(committed) == 3
    assert hashlib.md5(blob.download_blob().readall()).digest() == hashlib.md5(data).digest()


def test_conditional_writes(store):
    first = obstore.put(store, "cond.txt", b"one", mode="create")
    with pytest.raises(AlreadyExistsError):
        obstore.put(store, "cond.txt", b"two", mode="create")
    second = obstore.put(store, "cond.txt", b"two", mode={"e_tag": first["e_tag"]})
    with pytest.raises(PreconditionError):
        obstore.put(store, "cond.txt", b"three", mode={"e_tag": first["e_tag"]})
    assert obstore.get(store, "cond.txt").bytes().to_bytes() == b"two"
    assert second["e_tag"] != first["e_tag"]


def test_copy_rename_and_copy_if_not_exists(devstorage, store):
    data = os.urandom(6 * 1024 * 1024 + 1)
    obstore.put(store, "src/a b+%.bin", data, chunk_size=5 * 1024 * 1024)
    obstore.copy(store, "src/a b+%.bin", "dst/\u00fc copy.bin")
    assert obstore.get(store, "dst/\u00fc copy.bin").bytes().to_bytes() == data
    obstore.put(store, "other.bin", b"other")
    obstore.copy(store, "other.bin", "dst/\u00fc copy.bin", overwrite=True)
    assert obstore.get(store, "dst/\u00fc copy.bin").bytes().to_bytes() == b"other"
    with pytest.raises(AlreadyExistsError):
        obstore.copy(store, "src/a b+%.bin", "dst/\u00fc copy.bin", overwrite=False)
    obstore.copy(store, "src/a b+%.bin", "dst/fresh.bin", overwrite=False)
    obstore.rename(store, "src/a b+%.bin", "moved/a b+%.bin")
    with pytest.raises(FileNotFoundError):  # obstore raises Python's FileNotFoundError for 404s
        obstore.head(store, "src/a b+%.bin")
    assert obstore.get(store, "moved/a b+%.bin").bytes().to_bytes() == data
    properties = sdk_container(devstorage, store.config["container_name"]).get_blob_client("dst/fresh.bin").get_blob_properties()
    assert properties.copy.status == "success"


def test_delete_single_and_bulk(devstorage, store):
    names = [f"del/{i} x+%.txt" for i in range(30)] + ["del/\u00fc.txt"]
    for name in names:
        obstore.put(store, name, name.encode())
    obstore.delete(store, names[0])
    obstore.delete(store, names[1:])
    assert [item for batch in obstore.list(store, "del") for item in batch] == []
    with pytest.raises(FileNotFoundError):  # the batch answers 404 BlobNotFound for that sub-request
        obstore.delete(store, ["del/never-existed"])


def test_sas_links_fetched_with_curl(store):
    data = os.urandom(100_000)
    obstore.put(store, "shared/report-01.bin", data)
    url = obstore.sign(store, "GET", "shared/report-01.bin", timedelta(minutes=5))
    assert "sig=" in url and "sr=b" in url
    status, body = curl(url)
    assert status == 200 and body == data
    status, body = curl("-r", "10-19", url)
    assert status == 206 and body == data[10:20]
    put_url = obstore.sign(store, "PUT", "shared/upload.bin", timedelta(minutes=5))
    status, _ = curl("-X", "PUT", "-H", "x-ms-blob-type: BlockBlob", "--data-binary", "uploaded by curl", put_url)
    assert status == 201
    assert obstore.get(store, "shared/upload.bin").bytes().to_bytes() == b"uploaded by curl"
    status, _ = curl("-X", "PUT", "-H", "x-ms-blob-type: BlockBlob", "--data-binary", "x", url)  # a read SAS cannot write
    assert status == 403
    status, _ = curl(url.replace("sig=", "sig=x"))
    assert status == 403


def test_sas_for_names_that_need_percent_encoding_is_refused_as_azure_does(store):
    """object_store 0.12 signs the blob's percent-encoded path; Azure (and Microsoft's SDKs, which
    sign the decoded name) check the decoded name, so such links fail against Azure too. devstorage
    gives the same 403 and shows the string it signed, with the decoded name."""
    obstore.put(store, "shared/\u00fc report 100%.bin", b"x")
    url = obstore.sign(store, "GET", "shared/\u00fc report 100%.bin", timedelta(minutes=5))
    status, body = curl(url)
    assert status == 403 and b"AuthenticationFailed" in body
    assert "shared/\u00fc report 100%.bin".encode() in body


def test_account_key_and_endpoint_configuration(devstorage, unique):
    container = unique("ob")
    sdk_container(devstorage, container).create_container()
    store = AzureStore(container_name=container, account_name=ACCOUNT, account_key=KEY, endpoint=devstorage.blob_url,
                       client_options={"allow_http": True})
    obstore.put(store, "k/e y.bin", b"endpoint")
    assert obstore.get(store, "k/e y.bin").bytes().to_bytes() == b"endpoint"
    obstore.copy(store, "k/e y.bin", "k/copy.bin")
    obstore.delete(store, ["k/e y.bin", "k/copy.bin"])
    assert [item for batch in obstore.list(store) for item in batch] == []


def test_crossreads_with_storagekit(devstorage, store, tmp_path):
    container = store.config["container_name"]
    data = os.urandom(4 * 1024 * 1024 + 3)
    source = tmp_path / "sk.bin"
    source.write_bytes(data)
    with open(source, "rb") as stdin:
        devstorage.tool("upload", "--container", container, "--blob", "sk/\u00fc 100%+.bin", "--block-size", str(1 << 20), stdin=stdin)
    assert obstore.get(store, "sk/\u00fc 100%+.bin").bytes().to_bytes() == data
    assert obstore.head(store, "sk/\u00fc 100%+.bin")["size"] == len(data)

    written = os.urandom(7 * 1024 * 1024 + 11)
    obstore.put(store, "ob/a b+%.bin", written, chunk_size=5 * 1024 * 1024)
    out = tmp_path / "back.bin"
    devstorage.tool("get", "--container", container, "--blob", "ob/a b+%.bin", "--out", str(out))
    assert out.read_bytes() == written
    assert hashlib.md5(out.read_bytes()).hexdigest() == hashlib.md5(written).hexdigest()
    listing = devstorage.tool("list", "--container", container).stdout.decode()
    assert f"{len(written)}\tob/a b+%.bin" in listing
