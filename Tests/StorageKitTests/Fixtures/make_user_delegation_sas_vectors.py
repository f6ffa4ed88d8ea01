#!/usr/bin/env python3
"""Generates user-delegation-sas-vectors.json: blob SAS signed with a user-delegation key, as the
uploader hands out for direct-to-Blob uploads on Microsoft Entra identity (permissions `cw`, sr=b).

Regenerate (from the repository root, after `make venv`):
    .venv/bin/python Tests/StorageKitTests/Fixtures/make_user_delegation_sas_vectors.py

- "sdk": Microsoft's Python SDK's own `generate_blob_sas(..., user_delegation_key=...)` at its
  native signed version (its layout is the 2025-07-05 one: `skdutid`, `sduoid`, `srh`, `srq` added).
- "documented": sv=2024-11-04 (StorageKit's version), whose layout ("Create a user delegation SAS",
  learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas, "Version 2020-12-06 and
  later") the SDK no longer produces: built field by field and signed with the SDK's sign_string.
The key fields and value are fixed (the value is a made-up base64 key), so the file is reproducible.
"""
import json
import os
from urllib.parse import quote

from azure.storage.blob import BlobSasPermissions, UserDelegationKey, generate_blob_sas
from azure.storage.blob._shared import sign_string
from azure.storage.blob._shared.constants import X_MS_VERSION

ACCOUNT = "mediaprod"
CONTAINER, BLOB = "rawfiles", "2026/11/27/0193-direct upload.bin"
START, EXPIRY = "2026-11-27T06:55:00Z", "2026-11-27T08:00:00Z"


def key():
    k = UserDelegationKey()
    k.signed_oid = "6a1f4ad2-8f0e-4f71-9d3c-1b7c1fd0e001"
    k.signed_tid = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    k.signed_start = "2026-11-27T06:45:00Z"
    k.signed_expiry = "2026-12-03T07:00:00Z"
    k.signed_service = "b"
    k.signed_version = "2024-11-04"
    k.value = "aGVsbG8tdXNlci1kZWxlZ2F0aW9uLWtleS0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OQ=="
    return k


def fields(k):
    return {"objectID": k.signed_oid, "tenantID": k.signed_tid, "start": k.signed_start, "expiry": k.signed_expiry,
            "service": k.signed_service, "version": k.signed_version, "value": k.value}


def sdk_vector():
    k = key()
    captured = {}
    query = generate_blob_sas(ACCOUNT, CONTAINER, BLOB, user_delegation_key=k,
                              permission=BlobSasPermissions(create=True, write=True), start=START, expiry=EXPIRY,
                              protocol="https", sts_hook=lambda s: captured.setdefault("sts", s))
    return {"name": f"user-delegation blob SAS sv={X_MS_VERSION} (SDK)", "version": X_MS_VERSION, "source": "sdk",
            "query": query, "stringToSign": captured["sts"], "container": CONTAINER, "blob": BLOB, "key": fields(k)}


def documented_vector(version="2024-11-04"):
    k = key()
    canonical = f"/blob/{ACCOUNT}/{CONTAINER}/{BLOB}"
    sts = "\n".join(["cw", START, EXPIRY, canonical, k.signed_oid, k.signed_tid, k.signed_start, k.signed_expiry,
                     k.signed_service, k.signed_version, "", "", "", "", "https", version, "b", "", "",
                     "", "", "", "", ""])
    sig = sign_string(k.value, sts)
    items = [("sv", version), ("sp", "cw"), ("st", START), ("se", EXPIRY), ("spr", "https"), ("sr", "b"),
             ("skoid", k.signed_oid), ("sktid", k.signed_tid), ("skt", k.signed_start), ("ske", k.signed_expiry),
             ("sks", k.signed_service), ("skv", k.signed_version), ("sig", sig)]
    query = "&".join(f"{n}={quote(v, safe='')}" for n, v in items)
    return {"name": f"user-delegation blob SAS sv={version} (documented layout)", "version": version,
            "source": "documented", "query": query, "stringToSign": sts, "container": CONTAINER, "blob": BLOB,
            "key": fields(k)}


if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "user-delegation-sas-vectors.json")
    with open(out, "w") as f:
        json.dump([documented_vector(), sdk_vector()], f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(out)
