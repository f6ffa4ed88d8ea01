#!/usr/bin/env python3
"""Generates signing-vectors.json with Microsoft's own Python SDK signing code.

Regenerate (from the repository root, after `make venv`):
    .venv/bin/python Tests/StorageKitTests/Fixtures/make_signing_vectors.py

Shared Key vectors run azure-storage-blob's SharedKeyCredentialPolicy on fixed requests (fixed
x-ms-date); SAS vectors run generate_blob_sas / generate_container_sas / generate_queue_sas /
generate_account_sas with fixed times. StorageKit's tests rebuild each string-to-sign and signature.
"""
import datetime
import json
import os
from urllib.parse import parse_qsl

from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.pipeline.transport import HttpRequest
from azure.storage.blob import (AccountSasPermissions, BlobSasPermissions, ContainerSasPermissions, ResourceTypes,
                                generate_account_sas, generate_blob_sas, generate_container_sas)
from azure.storage.blob._shared.authentication import SharedKeyCredentialPolicy
from azure.storage.queue import QueueSasPermissions, generate_queue_sas

DEV = ("devstoreaccount1", "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
PROD = ("mediaprod", "c2VjcmV0LWtleS1mb3Itc2lnbmluZy12ZWN0b3JzLW9ubHktMDEyMzQ1Njc4OWFiY2RlZg==")
DATE = "Wed, 15 Jan 2025 10:00:00 GMT"
VERSION = "2024-11-04"


class RecordingPolicy(SharedKeyCredentialPolicy):
    def _add_authorization_header(self, request, string_to_sign):
        self.string_to_sign = string_to_sign
        super()._add_authorization_header(request, string_to_sign)


def shared_key(name, account, method, url, headers, body=None):
    all_headers = [("x-ms-version", VERSION), ("x-ms-date", DATE)] + headers
    request = HttpRequest(method, url, headers=dict(all_headers))
    if body is not None:
        request.set_bytes_body(body.encode())
        request.headers["Content-Length"] = str(len(body.encode()))
    policy = RecordingPolicy(account[0], account[1])
    policy.on_request(PipelineRequest(request, PipelineContext(None)))
    return {
        "kind": "sharedKey", "name": name, "account": account[0], "key": account[1], "method": method, "url": url,
        "headers": [[k, v] for k, v in request.headers.items() if k.lower() != "authorization"],
        "stringToSign": policy.string_to_sign, "authorization": request.headers["Authorization"],
    }


def sas(name, account, kind, query, container=None, blob=None, queue=None):
    return {"kind": kind, "name": name, "account": account[0], "key": account[1], "container": container, "blob": blob,
            "queue": queue, "query": query, "fields": dict(parse_qsl(query, keep_blank_values=True))}


def main():
    dev_blob = "http://127.0.0.1:10000/devstoreaccount1"
    dev_queue = "http://127.0.0.1:10001/devstoreaccount1"
    prod_blob = "https://mediaprod.blob.core.windows.net"
    prod_queue = "https://mediaprod.queue.core.windows.net"
    rid = ("x-ms-client-request-id", "00000000-0000-4000-8000-000000000002")
    vectors = [
        shared_key("put_blob_with_metadata", DEV, "PUT", f"{dev_blob}/media/uploads/clip%2001.mp4",
                   [("Content-Type", "application/octet-stream"), ("Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww=="), ("If-None-Match", "*"),
                    ("x-ms-blob-type", "BlockBlob"), ("x-ms-blob-content-type", "video/mp4"), ("x-ms-meta-origin", "uploader"),
                    ("x-ms-meta-uploadid", "u-123"), rid], body="hello world"),
        shared_key("set_blob_metadata_collation", DEV, "PUT", f"{dev_blob}/media/a.jpg?comp=metadata",
                   [("x-ms-meta-step2", "b"), ("x-ms-meta-step_2", "a"), ("x-ms-meta-Step_10", "c"), ("x-ms-meta-a1", "d"),
                    ("x-ms-meta-a_", "e"), ("x-ms-meta-zeta", "f"), ("Content-Length", "0"), rid]),
        shared_key("create_container_content_length_zero", DEV, "PUT", f"{dev_blob}/media?restype=container", [("Content-Length", "0")]),
        shared_key("put_block", DEV, "PUT", f"{dev_blob}/media/big%20file.bin?comp=block&blockid=YmxvY2stMDAwMDAw",
                   [("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==")], body="block-bytes"),
        shared_key("put_block_list", PROD, "PUT", f"{prod_blob}/rawfiles/2026/11/23/j%C3%BCrgen%2B%C3%A9t%C3%A9.jpg?comp=blocklist",
                   [("Content-Type", "application/xml"), ("x-ms-blob-content-md5", "XrY7u+Ae7tCTyyK7j1rNww=="), ("If-Match", '"0x8DD3551D2F9A5C1"')],
                   body="<?xml version='1.0' encoding='utf-8'?><BlockList><Latest>YmxvY2stMDAwMDAw</Latest></BlockList>"),
        shared_key("list_blobs_prefix", DEV, "GET", f"{dev_blob}/media?restype=container&comp=list&prefix=uploads%2F&maxresults=2&include=metadata", [rid]),
        shared_key("get_blob_range", PROD, "GET", f"{prod_blob}/processed/out/photo.webp", [("x-ms-range", "bytes=0-1023"), ("If-None-Match", '"0x1"')]),
        shared_key("delete_blob", PROD, "DELETE", f"{prod_blob}/processed/a%20b/c.webp", []),
        shared_key("get_messages", DEV, "GET", f"{dev_queue}/media-jobs/messages?numofmessages=16&visibilitytimeout=300", []),
        shared_key("put_message", PROD, "POST", f"{prod_queue}/jobqueue/messages?messagettl=-1",
                   [("Content-Type", "application/xml")], body="<QueueMessage><MessageText>eyJhIjoxfQ==</MessageText></QueueMessage>"),
        shared_key("delete_message", DEV, "DELETE", f"{dev_queue}/jobqueue/messages/64e81fb2-24df-4e68-b72e-73737dac72e6?popreceipt=AgAAAAMAAAAAAAAA166hXcpC1QE%2Bsl%2BQg%2F5m2wE%3D", []),
        shared_key("update_message", PROD, "PUT", f"{prod_queue}/jobqueue/messages/64e81fb2?popreceipt=%2FAB%2Bcd%3D&visibilitytimeout=300", [("Content-Length", "0")]),
        shared_key("peek_messages", DEV, "GET", f"{dev_queue}/jobqueue/messages?peekonly=true&numofmessages=32", []),
        shared_key("queue_metadata", PROD, "GET", f"{prod_queue}/jobqueue?comp=metadata", []),
        # Every other request StorageKit / QueueKit sends, shaped as they send it.
        shared_key("copy_blob", DEV, "PUT", f"{dev_blob}/processed/out/clip%2001%20%C3%BC.mp4",
                   [("x-ms-copy-source", f"{dev_blob}/rawfiles/in/clip%2001%20%C3%BC%2B%25.mp4"), ("x-ms-meta-step", "2"),
                    ("If-None-Match", "*"), ("Content-Length", "0"), rid]),
        shared_key("abort_copy_blob", PROD, "PUT", f"{prod_blob}/processed/out/clip.mp4?comp=copy&copyid=1f7a6b0e-0c1d-4c55-9d7e-2a1b3c4d5e6f",
                   [("x-ms-copy-action", "abort"), ("Content-Length", "0")]),
        shared_key("get_block_list", DEV, "GET", f"{dev_blob}/media/big%20file.bin?comp=blocklist&blocklisttype=all", [rid]),
        shared_key("set_blob_properties", PROD, "PUT", f"{prod_blob}/processed/page.html?comp=properties",
                   [("x-ms-blob-content-type", "text/html; charset=utf-8"), ("x-ms-blob-content-encoding", "gzip"),
                    ("x-ms-blob-content-language", "de-CH"), ("x-ms-blob-content-disposition", 'inline; filename="page.html"'),
                    ("x-ms-blob-cache-control", "public, max-age=600"), ("x-ms-blob-content-md5", "XrY7u+Ae7tCTyyK7j1rNww=="),
                    ("If-Match", '"0x8DD3551D2F9A5C1"'), ("Content-Length", "0")]),
        shared_key("get_blob_properties", DEV, "HEAD", f"{dev_blob}/media/uploads/clip%2001.mp4", [("If-None-Match", '"0x1"'), rid]),
        shared_key("delete_container", PROD, "DELETE", f"{prod_blob}/scratch?restype=container", []),
        shared_key("create_queue", DEV, "PUT", f"{dev_queue}/jobqueue-poison", [("Content-Length", "0"), rid]),
        shared_key("delete_queue", PROD, "DELETE", f"{prod_queue}/jobqueue-old", []),
        shared_key("clear_messages", DEV, "DELETE", f"{dev_queue}/jobqueue/messages", [rid]),
        shared_key("list_queues", DEV, "GET", f"{dev_queue}/?comp=list&maxresults=5000&prefix=job&include=metadata", [rid]),
        shared_key("set_queue_metadata", PROD, "PUT", f"{prod_queue}/jobqueue?comp=metadata",
                   [("x-ms-meta-Owner", "media"), ("x-ms-meta-tier", "2"), ("Content-Length", "0")]),
    ]
    start = datetime.datetime(2025, 1, 15, 9, 55, tzinfo=datetime.timezone.utc)
    expiry = datetime.datetime(2025, 1, 15, 11, 0, tzinfo=datetime.timezone.utc)
    vectors += [
        sas("blob_read_sas", DEV, "blobSAS", generate_blob_sas(DEV[0], "media", "uploads/clip 01.mp4", account_key=DEV[1],
            permission=BlobSasPermissions(read=True), start=start, expiry=expiry, version=VERSION), container="media", blob="uploads/clip 01.mp4"),
        sas("blob_sas_overrides", PROD, "blobSAS", generate_blob_sas(PROD[0], "processed", "j/main.webp", account_key=PROD[1],
            permission=BlobSasPermissions(read=True, write=True, create=True), expiry=expiry, protocol="https",
            content_disposition='attachment; filename="main.webp"', content_type="image/webp", cache_control="no-cache"),
            container="processed", blob="j/main.webp"),
        sas("container_sas", DEV, "blobSAS", generate_container_sas(DEV[0], "media", account_key=DEV[1],
            permission=ContainerSasPermissions(read=True, list=True), start=start, expiry=expiry), container="media"),
        sas("queue_sas", PROD, "queueSAS", generate_queue_sas(PROD[0], "jobqueue", PROD[1],
            permission=QueueSasPermissions(read=True, add=True, update=True, process=True), start=start, expiry=expiry), queue="jobqueue"),
        sas("account_sas", DEV, "accountSAS", generate_account_sas(DEV[0], DEV[1], ResourceTypes(container=True, object=True),
            AccountSasPermissions(read=True, write=True, list=True, create=True), expiry=expiry, start=start)),
    ]
    for vector in vectors:
        if vector["kind"].endswith("SAS"):
            vector["fields"].setdefault("sv", VERSION)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "signing-vectors.json")
    with open(out, "w") as f:
        json.dump(vectors, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(vectors)} vectors to {out}")


if __name__ == "__main__":
    main()
