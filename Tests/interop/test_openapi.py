"""openapi.yaml is a valid OpenAPI document, is what the uploader serves, and the running
uploader answers schemathesis's generated requests without a server error and as described."""
import os
import subprocess
import urllib.request

import yaml
from openapi_spec_validator import validate

from conftest import API_KEY, ROOT

SPEC = os.path.join(ROOT, "Sources/Uploader/Resources/Web/openapi.yaml")
SCHEMATHESIS = os.path.join(os.path.dirname(os.path.realpath(os.sys.executable)), "schemathesis")


def test_spec_is_valid_and_served(stack):
    with open(SPEC) as f:
        text = f.read()
    validate(yaml.safe_load(text))
    served = urllib.request.urlopen(f"{stack.uploader.url}/openapi.yaml").read().decode()
    assert served == text


def test_schemathesis_finds_no_server_error(make_stack, tmp_path):
    # Generous rate limits: schemathesis's bursts must meet the API, not the limiter. One worker:
    # with two, hypothesis's lambda descriptions call ast.parse from two threads at once, and
    # CPython 3.11's AST validator keeps its recursion depth in shared state (gh-106905), so a run
    # could die of "AST constructor recursion depth mismatch" — a tool crash, not a finding.
    stack = make_stack(UPLOADER_RATE_PER_SECOND=1000, UPLOADER_RATE_BURST=1000, UPLOADER_MAX_UPLOAD_BYTES=1 << 20)
    bin_dir = os.path.dirname(os.sys.executable)
    result = subprocess.run(
        [os.path.join(bin_dir, "schemathesis"), "run", f"{stack.uploader.url}/openapi.yaml",
         "--url", stack.uploader.url, "-H", f"X-API-Key: {API_KEY}",
         "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
         "--max-examples", os.environ.get("SCHEMATHESIS_EXAMPLES", "100"), "--seed", "20261123",
         "--phases", "examples,coverage,fuzzing", "--workers", "1", "--request-timeout", "30",
         "--suppress-health-check", "all", "--warnings", "off"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
