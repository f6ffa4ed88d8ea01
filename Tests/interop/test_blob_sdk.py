"""Microsoft's azure-storage-blob SDK against devstorage."""
import datetime
import hashlib
import os
import subprocess
import time

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, ContentSettings, generate_blob_sas

from conftest import ACCOUNT, KEY


def service(devstorage, **kwargs):
    return BlobServiceClient.from_connection_string(devstorage.connection_string(), **kwargs)


def test_containers(devstorage, unique):
    client = service(devstorage)
    name = unique("c")
    container = client.create_container(name)
    assert container.exists()
    with pytest.raises(ResourceExistsError):
        client.create_container(name)
    container.delete_container()
    assert not container.exists()


def test_single_shot_upload_download_and_metadata(devstorage, unique):
    container = service(devstorage).create_container(unique("c"))
    data = os.urandom(300_000)
    blob = container.upload_blob("photos/a b+c.jpg", data, metadata={"origin": "sdk", "step_2": "x", "step2": "y"},
                                 content_settings=ContentSettings(content_type="image/jpeg"))
    assert blob.download_blob().readall() == data
    props = blob.get_blob_properties()
    assert props.size == len(data)
    assert props.content_settings.content_type == "image/jpeg"
    assert bytes(props.content_settings.content_md5) == hashlib.md5(data).digest()
    assert props.metadata == {"origin": "sdk", "step_2": "x", "step2": "y"}
    blob.set_blob_metadata({"changed": "yes"})
    assert blob.get_blob_properties().metadata == {"changed": "yes"}
    with pytest.raises(ResourceExistsError):
        container.upload_blob("photos/a b+c.jpg", b"again")  # overwrite=False sends If-None-Match: *
    blob.delete_blob()
    with pytest.raises(ResourceNotFoundError):
        blob.get_blob_properties()


def test_staged_upload_over_64_mib_and_ranges(devstorage, unique, tmp_path):
    client = service(devstorage, max_single_put_size=4 * 1024 * 1024, max_block_size=8 * 1024 * 1024)
    container = client.create_container(unique("c"))
    path = tmp_path / "big.bin"
    with open(path, "wb") as f:
        for _ in range(66):
            f.write(os.urandom(1024 * 1024))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with open(path, "rb") as f:
        blob = container.upload_blob("big.bin", f, max_concurrency=4)
    assert blob.get_blob_properties().size == 66 * 1024 * 1024
    assert hashlib.sha256(blob.download_blob(max_concurrency=4).readall()).hexdigest() == digest
    data = path.read_bytes()
    assert blob.download_blob(offset=1_000_000, length=12_345).readall() == data[1_000_000:1_012_345]
    assert blob.download_blob(offset=len(data) - 10).readall() == data[-10:]


def test_list_with_paging_and_prefix(devstorage, unique):
    container = service(devstorage).create_container(unique("c"))
    names = [f"uploads/{i:03d}.txt" for i in range(23)] + ["other/x.txt"]
    for name in names:
        container.upload_blob(name, name.encode())
    pages = container.list_blobs(name_starts_with="uploads/", results_per_page=5).by_page()
    seen = []
    page_count = 0
    for page in pages:
        page_count += 1
        seen += [b.name for b in page]
    assert page_count == 5
    assert seen == sorted(n for n in names if n.startswith("uploads/"))
    walked = [b.name for b in container.walk_blobs(delimiter="/")]
    assert walked == ["other/", "uploads/"]
    with_meta = list(container.list_blobs(name_starts_with="other/", include=["metadata"]))
    assert with_meta[0].size == len(b"other/x.txt")


def test_sas_download_with_curl_and_expired_sas(devstorage, unique):
    container = service(devstorage).create_container(unique("c"))
    data = os.urandom(50_000)
    container.upload_blob("clip 01.mp4", data)
    sas = generate_blob_sas(ACCOUNT, container.container_name, "clip 01.mp4", account_key=KEY,
                            permission=BlobSasPermissions(read=True),
                            expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5))
    url = f"{devstorage.blob_url}/{container.container_name}/clip%2001.mp4?{sas}"
    out = subprocess.run(["curl", "-sS", "-f", url], capture_output=True, check=True).stdout
    assert out == data
    expired = generate_blob_sas(ACCOUNT, container.container_name, "clip 01.mp4", account_key=KEY,
                                permission=BlobSasPermissions(read=True),
                                start=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=2),
                                expiry=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1))
    status = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                             f"{devstorage.blob_url}/{container.container_name}/clip%2001.mp4?{expired}"],
                            capture_output=True, check=True).stdout
    assert status == b"403"
    # A read SAS does not allow writes.
    status = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H", "x-ms-blob-type: BlockBlob",
                             "--data-binary", "x", url], capture_output=True, check=True).stdout
    assert status == b"403"


def test_wrong_key_is_refused(devstorage, unique):
    wrong = "A" * 86 + "=="
    from azure.storage.blob import BlobServiceClient as C
    client = C.from_connection_string(devstorage.connection_string(key=wrong))
    with pytest.raises(ClientAuthenticationError) as info:
        client.create_container(unique("c"))
    assert info.value.status_code == 403
    assert info.value.error_code == "AuthenticationFailed"


def test_restart_loses_nothing(devstorage, unique):
    container = service(devstorage).create_container(unique("c"))
    data = os.urandom(1_000_000)
    container.upload_blob("keep.bin", data, metadata={"kept": "yes"})
    devstorage.restart()
    blob = service(devstorage).get_blob_client(container.container_name, "keep.bin")
    assert blob.download_blob().readall() == data
    assert blob.get_blob_properties().metadata == {"kept": "yes"}


def test_kill_9_mid_upload_leaves_nothing_visible(devstorage, unique, tmp_path):
    client = service(devstorage)
    container = client.create_container(unique("c"))
    container.upload_blob("existing.bin", b"old contents")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(8 * 1024 * 1024))
    for name in ("new.bin", "existing.bin"):
        sas = generate_blob_sas(ACCOUNT, container.container_name, name, account_key=KEY,
                                permission=BlobSasPermissions(write=True, create=True),
                                expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5))
        upload = subprocess.Popen(["curl", "-s", "--limit-rate", "1M", "-T", str(big), "-H", "x-ms-blob-type: BlockBlob",
                                   f"{devstorage.blob_url}/{container.container_name}/{name}?{sas}"])
        deadline = time.time() + 10
        # Wait until devstorage is receiving the body (its temporary file exists), then kill it.
        while time.time() < deadline and not any(".tmp-" in f for _, _, files in os.walk(devstorage.data_dir) for f in files):
            time.sleep(0.05)
        devstorage.process.kill()
        devstorage.process.wait()
        upload.wait(timeout=30)
        devstorage.stop()
        devstorage.start()
    names = [b.name for b in service(devstorage).get_container_client(container.container_name).list_blobs()]
    assert names == ["existing.bin"]
    assert service(devstorage).get_blob_client(container.container_name, "existing.bin").download_blob().readall() == b"old contents"
