"""Shared paths for the deployment checks (make lint-deploy)."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# CI runs in a fresh clone with ../shared beside it.
SHARED = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared"))
KEDA_SCHEMAS = SHARED / "schemas" / "keda"
RELEASE_BIN = Path(os.environ.get("RELEASE_BIN", ROOT / ".build" / "release"))
K8S = ROOT / "k8s"
INFRA = ROOT / "infra"
# The Kubernetes version the manifests are validated against (AKS's supported range; the
# manifests need >= 1.30 for the preStop sleep action).
K8S_VERSION = os.environ.get("K8S_VERSION", "1.33.0")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
