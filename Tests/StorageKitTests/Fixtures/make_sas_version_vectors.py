#!/usr/bin/env python3
"""Generates sas-version-vectors.json: one SAS per string-to-sign layout Azure still accepts.

Regenerate (from the repository root, after `make venv`):
    .venv/bin/python Tests/StorageKitTests/Fixtures/make_sas_version_vectors.py

Layouts 2020-12-06 and later ("sdk"): Microsoft's Python SDK (azure-storage-blob / -queue) generates
the SAS; its signer's version is set to each signed version (the SDK uses one layout for all of
them). Older layouts ("documented"): the SDK no longer produces them, so the string-to-sign is
built field by field as "Create a service SAS" and "Create an account SAS" document it for that
version (learn.microsoft.com/rest/api/storageservices/create-service-sas, …/create-account-sas) and
signed with the SDK's own sign_string. Start 2020-01-01, expiry 2099-01-01: the tests also send
every vector to devstorage.
"""
import json
import os
from urllib.parse import quote, urlencode

from azure.storage.blob import AccountSasPermissions, BlobSasPermissions, ResourceTypes, generate_account_sas
from azure.storage.blob._shared import sign_string
from azure.storage.blob._shared.constants import X_MS_VERSION as BLOB_VERSION
from azure.storage.blob._shared_access_signature import BlobSharedAccessSignature
from azure.storage.queue import QueueSasPermissions
from azure.storage.queue._shared_access_signature import QueueSharedAccessSignature

ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START, EXPIRY = "2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z"
CONTAINER, BLOB, QUEUE = "media", "in/clip 01 \u00fc+%.mp4", "jobs"


def vector(name, kind, version, source, query, string_to_sign, **resource):
    return {"name": name, "kind": kind, "version": version, "source": source, "query": query,
            "stringToSign": string_to_sign, "container": resource.get("container"), "blob": resource.get("blob"),
            "queue": resource.get("queue")}


def sdk_blob(version, content_type=None):
    captured = {}
    signer = BlobSharedAccessSignature(ACCOUNT, KEY)
    signer.x_ms_version = version
    query = signer.generate_blob(CONTAINER, BLOB, permission=BlobSasPermissions(read=True), expiry=EXPIRY, start=START,
                                 content_type=content_type, sts_hook=lambda s: captured.setdefault("sts", s))
    return vector(f"blob service SAS sv={version} (SDK)", "blobService", version, "sdk", query, captured["sts"],
                  container=CONTAINER, blob=BLOB)


def sdk_container(version):
    captured = {}
    signer = BlobSharedAccessSignature(ACCOUNT, KEY)
    signer.x_ms_version = version
    query = signer.generate_container(CONTAINER, permission="rl", expiry=EXPIRY, start=START,
                                      sts_hook=lambda s: captured.setdefault("sts", s))
    return vector(f"container SAS sv={version} (SDK)", "blobService", version, "sdk", query, captured["sts"], container=CONTAINER)


def sdk_queue(version):
    captured = {}
    signer = QueueSharedAccessSignature(ACCOUNT, KEY)
    signer.x_ms_version = version
    query = signer.generate_queue(QUEUE, permission=QueueSasPermissions(read=True, add=True), expiry=EXPIRY, start=START,
                                  sts_hook=lambda s: captured.setdefault("sts", s))
    return vector(f"queue service SAS sv={version} (SDK)", "queueService", version, "sdk", query, captured["sts"], queue=QUEUE)


def sdk_account(version):
    captured = {}
    from azure.storage.blob._shared.shared_access_signature import SharedAccessSignature
    signer = SharedAccessSignature(ACCOUNT, KEY, x_ms_version=version)
    query = signer.generate_account("bq", ResourceTypes(service=True, container=True, object=True),
                                    AccountSasPermissions(read=True, list=True), EXPIRY, start=START,
                                    sts_hook=lambda s: captured.setdefault("sts", s))
    return vector(f"account SAS sv={version} (SDK)", "account", version, "sdk", query, captured["sts"],
                  container=CONTAINER, blob=BLOB, queue=QUEUE)


def documented_blob(version, resource_type="b", content_type=None):
    """Service SAS for a blob (sr=b) or container (sr=c), layouts before 2020-12-06."""
    prefix = "/blob" if version >= "2015-02-21" else ""
    canonical = f"{prefix}/{ACCOUNT}/{CONTAINER}" + (f"/{BLOB}" if resource_type == "b" else "")
    permission = "r" if resource_type == "b" else "rl"
    fields = [permission, START, EXPIRY, canonical, ""]  # sp st se resource si
    if version >= "2015-04-05":
        fields += ["", ""]  # sip spr
    fields.append(version)
    if version >= "2018-11-09":
        fields += [resource_type, ""]  # sr, signedSnapshotTime
    if version >= "2013-08-15":
        fields += ["", "", "", "", content_type or ""]  # rscc rscd rsce rscl rsct
    string_to_sign = "\n".join(fields)
    params = [("sv", version), ("st", START), ("se", EXPIRY), ("sr", resource_type), ("sp", permission)]
    if content_type:
        params.append(("rsct", content_type))
    params.append(("sig", sign_string(KEY, string_to_sign)))
    what = "blob" if resource_type == "b" else "container"
    return vector(f"{what} SAS sv={version} (documented layout)", "blobService", version, "documented",
                  urlencode(params, quote_via=quote, safe=""), string_to_sign, container=CONTAINER,
                  blob=BLOB if resource_type == "b" else None)


def documented_queue(version):
    prefix = "/queue" if version >= "2015-02-21" else ""
    fields = ["ra", START, EXPIRY, f"{prefix}/{ACCOUNT}/{QUEUE}", ""]
    if version >= "2015-04-05":
        fields += ["", ""]
    fields.append(version)
    string_to_sign = "\n".join(fields)
    params = [("sv", version), ("st", START), ("se", EXPIRY), ("sp", "ra"), ("sig", sign_string(KEY, string_to_sign))]
    return vector(f"queue SAS sv={version} (documented layout)", "queueService", version, "documented",
                  urlencode(params, quote_via=quote, safe=""), string_to_sign, queue=QUEUE)


def documented_account(version):
    string_to_sign = "".join(f + "\n" for f in [ACCOUNT, "rl", "bq", "sco", START, EXPIRY, "", "", version])
    params = [("sv", version), ("ss", "bq"), ("srt", "sco"), ("sp", "rl"), ("st", START), ("se", EXPIRY),
              ("sig", sign_string(KEY, string_to_sign))]
    return vector(f"account SAS sv={version} (documented layout)", "account", version, "documented",
                  urlencode(params, quote_via=quote, safe=""), string_to_sign, container=CONTAINER, blob=BLOB, queue=QUEUE)


def main():
    vectors = []
    for version in ["2012-02-12", "2013-08-15", "2014-02-14", "2015-02-21", "2015-04-05", "2017-11-09", "2018-11-09", "2019-12-12"]:
        vectors.append(documented_blob(version))
        vectors.append(documented_blob(version, resource_type="c"))
    for version in ["2013-08-15", "2015-04-05", "2018-11-09"]:
        vectors.append(documented_blob(version, content_type="text/plain"))
    for version in ["2012-02-12", "2015-02-21", "2015-04-05", "2017-11-09"]:
        vectors.append(documented_queue(version))
    for version in ["2015-04-05", "2019-12-12"]:
        vectors.append(documented_account(version))
    for version in ["2020-12-06", "2021-08-06", "2024-11-04", BLOB_VERSION]:
        vectors += [sdk_blob(version), sdk_container(version), sdk_queue(version), sdk_account(version)]
    vectors.append(sdk_blob(BLOB_VERSION, content_type="text/plain"))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sas-version-vectors.json")
    with open(path, "w") as f:
        json.dump(vectors, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(vectors)} vectors to {path}")


if __name__ == "__main__":
    main()
