#!/usr/bin/env python3
"""bench/tus_client.py — a tus 1.0 client for bench/upload.sh, standard library only.

    tus_client.py URL API_KEY FILE CHUNK_BYTES

Creates an upload (POST URL with Upload-Length and the file name in Upload-Metadata), then sends
the file in PATCHes of CHUNK_BYTES over one keep-alive connection. Each PATCH declares its
Content-Length and its body goes from the file to the socket with socket.sendfile (sendfile(2)), so the client
never holds a piece in memory and costs about as little CPU as `curl -T`. Every answer is checked
(201, then 204 with the next Upload-Offset). Prints the job id the last PATCH names (X-Job-Id).
"""
import base64
import http.client
import os
import sys
import urllib.parse


def fail(message):
    print(f"tus_client: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    url, key, path, chunk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    parsed = urllib.parse.urlsplit(url)
    size = os.path.getsize(path)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=300)
    common = {"Tus-Resumable": "1.0.0", "X-API-Key": key}
    name = base64.b64encode(os.path.basename(path).encode()).decode()
    connection.request("POST", parsed.path, headers={**common, "Upload-Length": str(size), "Upload-Metadata": f"filename {name}",
                                                     "Content-Length": "0"})
    response = connection.getresponse()
    body = response.read()
    if response.status != 201:
        fail(f"creation answered {response.status}: {body[:500]!r}")
    location = urllib.parse.urlsplit(response.getheader("Location")).path
    offset, job_id = 0, None
    with open(path, "rb") as f:
        while offset < size:
            count = min(chunk, size - offset)
            connection.putrequest("PATCH", location, skip_accept_encoding=True)
            for header, value in {**common, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream",
                                  "Content-Length": str(count)}.items():
                connection.putheader(header, value)
            connection.endheaders()
            if connection.sock.sendfile(f, offset, count) != count:
                fail(f"the file ended before {offset + count} bytes")
            response = connection.getresponse()
            body = response.read()
            if response.status != 204:
                fail(f"PATCH at {offset} answered {response.status}: {body[:500]!r}")
            offset += count
            if response.getheader("Upload-Offset") != str(offset):
                fail(f"after a PATCH to {offset} the server is at {response.getheader('Upload-Offset')}")
            job_id = response.getheader("X-Job-Id")
    connection.close()
    if not job_id:
        fail("the last PATCH named no job (X-Job-Id)")
    print(job_id)


if __name__ == "__main__":
    main()
