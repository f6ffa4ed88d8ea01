"""The Blob and Queue operations real tools use, driven by Microsoft's Python SDKs: Copy Blob (and
Abort Copy), Put Blob / Put Block From URL, Blob Batch, Get Block List, Set Blob HTTP Headers and
Metadata, content headers served verbatim, Set Blob Tier, List Queues, queue metadata and Get
Service Properties."""
import datetime
import gzip
import hashlib
import os

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import (AccountSasPermissions, BlobBlock, BlobServiceClient, ContainerSasPermissions,
                                ContentSettings, ResourceTypes, generate_account_sas, generate_container_sas)
from azure.storage.queue import QueueServiceClient

from conftest import ACCOUNT, KEY


def service(devstorage):
    return BlobServiceClient.from_connection_string(devstorage.connection_string())


def test_copy_blob_is_synchronous_and_abort_answers_as_azure(devstorage, unique):
    container = service(devstorage).create_container(unique("c"))
    data = os.urandom(2 * 1024 * 1024 + 3)
    source = container.upload_blob("src/\u00fc 100%+.bin", data, metadata={"origin": "source"},
                                   content_settings=ContentSettings(content_type="video/mp4", cache_control="max-age=60"))
    target = container.get_blob_client("dst/copy.bin")
    copy = target.start_copy_from_url(source.url)
    assert copy["copy_status"] == "success" and copy["copy_id"]
    assert target.download_blob().readall() == data
    properties = target.get_blob_properties()
    assert properties.copy.id == copy["copy_id"] and properties.copy.status == "success"
    assert properties.copy.progress == f"{len(data)}/{len(data)}"
    assert properties.metadata == {"origin": "source"}
    assert properties.content_settings.content_type == "video/mp4"
    assert properties.content_settings.cache_control == "max-age=60"
    assert bytes(properties.content_settings.content_md5) == hashlib.md5(data).digest()
    with pytest.raises(HttpResponseError) as aborted:
        target.abort_copy(copy["copy_id"])
    assert aborted.value.status_code == 409 and aborted.value.error_code == "NoPendingCopyOperation"
    with pytest.raises(HttpResponseError) as mismatch:
        target.abort_copy("00000000-0000-0000-0000-000000000000")
    assert mismatch.value.status_code == 409 and mismatch.value.error_code == "CopyIdMismatch"
    # New metadata replaces the source's; the destination's conditions apply.
    target.start_copy_from_url(source.url, metadata={"fresh": "yes"})
    assert target.get_blob_properties().metadata == {"fresh": "yes"}
    with pytest.raises(ResourceExistsError):  # If-None-Match: * on an existing destination
        target.start_copy_from_url(source.url, match_condition=MatchConditions.IfMissing)
    with pytest.raises(ResourceNotFoundError):
        container.get_blob_client("x").start_copy_from_url(container.get_blob_client("missing").url)
    # Overwriting the source afterwards leaves the copy intact (its data files are its own).
    source.upload_blob(b"overwritten", overwrite=True)
    assert target.download_blob().readall() == data


def test_copy_from_url_sync_and_other_container_with_sas(devstorage, unique):
    client = service(devstorage)
    one, two = client.create_container(unique("c")), client.create_container(unique("c"))
    data = os.urandom(50_000)
    source = one.upload_blob("a.bin", data)
    result = two.get_blob_client("b.bin").start_copy_from_url(source.url, requires_sync=True)
    assert result["copy_status"] == "success"
    assert two.get_blob_client("b.bin").download_blob().readall() == data
    sas = generate_container_sas(ACCOUNT, one.container_name, account_key=KEY, permission=ContainerSasPermissions(read=True),
                                 expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
    two.get_blob_client("c.bin").start_copy_from_url(f"{source.url}?{sas}")
    assert two.get_blob_client("c.bin").download_blob().readall() == data
    with pytest.raises(HttpResponseError) as refused:
        two.get_blob_client("d.bin").start_copy_from_url(f"{source.url}?{sas[:-3]}abc")
    assert refused.value.error_code == "CannotVerifyCopySource"


def test_put_blob_and_put_block_from_url(devstorage, unique):
    container = service(devstorage).create_container(unique("c"))
    data = os.urandom(3 * 1024 * 1024 + 17)
    source = container.upload_blob("source.bin", data)
    whole = container.get_blob_client("whole.bin")
    whole.upload_blob_from_url(source.url)
    assert whole.download_blob().readall() == data
    staged = container.get_blob_client("staged.bin")
    half = len(data) // 2
    staged.stage_block_from_url("YmxvY2stMDAx", source.url, source_offset=0, source_length=half)
    staged.stage_block_from_url("YmxvY2stMDAy", source.url, source_offset=half, source_length=len(data) - half)
    committed, uncommitted = staged.get_block_list("all")
    assert committed == [] and [(b.id, b.size) for b in uncommitted] == [("YmxvY2stMDAx", half), ("YmxvY2stMDAy", len(data) - half)]
    staged.commit_block_list([BlobBlock("YmxvY2stMDAx"), BlobBlock("YmxvY2stMDAy")])
    assert staged.download_blob().readall() == data


def test_blob_batch_delete_and_set_tier(devstorage, unique):
    container = service(devstorage).create_container(unique("c"))
    names = [f"batch/{i} a+b%.txt" for i in range(12)] + ["batch/\u00fc.txt"]
    for name in names:
        container.upload_blob(name, name.encode())
    container.set_standard_blob_tier_blobs("Cool", *names[:3])
    assert [container.get_blob_client(n).get_blob_properties().blob_tier for n in names[:4]] == ["Cool", "Cool", "Cool", "Hot"]
    responses = list(container.delete_blobs(*names[:10]))
    assert [r.status_code for r in responses] == [202] * 10
    assert sorted(b.name for b in container.list_blobs()) == sorted(names[10:])
    # One missing blob: its own 404, the others still deleted.
    responses = list(container.delete_blobs(names[10], "batch/missing", raise_on_any_failure=False))
    assert [r.status_code for r in responses] == [202, 404]
    # A SAS-authorized batch: sub-requests carry no Authorization of their own.
    sas = generate_account_sas(ACCOUNT, KEY, ResourceTypes(container=True, object=True), AccountSasPermissions(delete=True, list=True),
                               datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
    with_sas = BlobServiceClient(devstorage.blob_url, credential=sas).get_container_client(container.container_name)
    assert [r.status_code for r in with_sas.delete_blobs(*names[11:])] == [202, 202]
    assert list(container.list_blobs()) == []


def test_block_lists_and_recommit_of_a_subset(devstorage, unique):
    container = service(devstorage).create_container(unique("c"))
    blob = container.get_blob_client("blocks.bin")
    ids = ["QUFB", "QkJC", "Q0ND"]
    for i, block_id in enumerate(ids):
        blob.stage_block(block_id, bytes([65 + i]) * (1000 + i))
    assert blob.get_block_list("committed") == ([], [])
    committed, uncommitted = blob.get_block_list("all")
    assert [b.id for b in uncommitted] == ids
    blob.commit_block_list([BlobBlock(i) for i in ids])
    committed, uncommitted = blob.get_block_list("all")
    assert [(b.id, b.size) for b in committed] == [("QUFB", 1000), ("QkJC", 1001), ("Q0ND", 1002)] and uncommitted == []
    blob.commit_block_list([BlobBlock("Q0ND"), BlobBlock("QUFB")])
    assert [b.id for b in blob.get_block_list("committed")[0]] == ["Q0ND", "QUFB"]
    assert blob.download_blob().readall() == b"C" * 1002 + b"A" * 1000


def test_http_headers_and_metadata_served_verbatim(devstorage, unique):
    container = service(devstorage).create_container(unique("c"))
    compressed = gzip.compress(b"<p>hallo</p>")
    blob = container.upload_blob("page.html.gz", compressed, content_settings=ContentSettings(
        content_type="text/html; charset=utf-8", content_encoding="gzip", content_language="de-CH",
        content_disposition="attachment; filename*=UTF-8''bericht%20%C3%BC.html", cache_control="public, max-age=3600"))
    settings = blob.get_blob_properties().content_settings
    assert (settings.content_type, settings.content_encoding, settings.content_language, settings.cache_control,
            settings.content_disposition) == ("text/html; charset=utf-8", "gzip", "de-CH", "public, max-age=3600",
                                              "attachment; filename*=UTF-8''bericht%20%C3%BC.html")
    raw = blob.download_blob(decompress=False)
    assert raw.properties.content_settings.content_encoding == "gzip" and raw.readall() == compressed
    assert blob.download_blob().readall() == b"<p>hallo</p>"  # the SDK decodes what is served as gzip
    etag = blob.get_blob_properties().etag
    blob.set_http_headers(ContentSettings(content_type="application/json", cache_control="no-store"))
    after = blob.get_blob_properties()
    assert after.etag != etag
    assert (after.content_settings.content_type, after.content_settings.cache_control) == ("application/json", "no-store")
    assert after.content_settings.content_encoding is None and after.content_settings.content_language is None
    blob.set_blob_metadata({"Camel": "Case", "n2": "v"})
    assert blob.get_blob_properties().metadata == {"Camel": "Case", "n2": "v"}
    listed = next(iter(container.list_blobs(include=["metadata"])))
    assert listed.content_settings.content_type == "application/json" and listed.metadata == {"Camel": "Case", "n2": "v"}


def test_archive_tier_blocks_reads_until_rehydrated(devstorage, unique):
    container = service(devstorage).create_container(unique("c"))
    blob = container.upload_blob("cold.bin", b"frozen")
    blob.set_standard_blob_tier("Archive")
    with pytest.raises(HttpResponseError) as archived:
        blob.download_blob().readall()
    assert archived.value.status_code == 409 and archived.value.error_code == "BlobArchived"
    blob.set_standard_blob_tier("Hot")
    assert blob.download_blob().readall() == b"frozen"


def test_service_properties_and_account_information(devstorage):
    properties = service(devstorage).get_service_properties()
    assert properties["analytics_logging"].read is False and properties["cors"] == []
    assert properties["delete_retention_policy"].enabled is False
    info = service(devstorage).get_account_information()
    assert info["account_kind"] == "StorageV2" and info["sku_name"] == "Standard_LRS"
    queues = QueueServiceClient.from_connection_string(devstorage.connection_string()).get_service_properties()
    assert queues["hour_metrics"].enabled is False


def test_list_queues_and_queue_metadata(devstorage, unique):
    queues = QueueServiceClient.from_connection_string(devstorage.connection_string())
    prefix = unique("lq")
    for i in range(3):
        queues.create_queue(f"{prefix}-{i}", metadata={"index": str(i)})
    listed = list(queues.list_queues(name_starts_with=prefix, include_metadata=True, results_per_page=2))
    assert [(q.name, q.metadata) for q in listed] == [(f"{prefix}-{i}", {"index": str(i)}) for i in range(3)]
    client = queues.get_queue_client(f"{prefix}-1")
    client.set_queue_metadata({"Owner": "media", "x": "1"})
    assert client.get_queue_properties().metadata == {"Owner": "media", "x": "1"}
