"""Proof of the images' runtime stages without Docker.

For each release binary (RELEASE_BIN, default .build/release, built by `make lint-deploy` with
--static-swift-stdlib): read its NEEDED libraries (readelf -d) and the whole resolved closure (ldd),
map every library file to the Debian package that owns it (dpkg -S, symlinks resolved), and check
that the Dockerfile's runtime stage installs each package — or that debian:bookworm-slim already has
it (Priority: required, plus apt, and everything those depend on). The machine running this is
Debian 12 like the runtime image, so package names and versions line up.
"""
from __future__ import annotations

import os
import re
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

import dockerfile_parse
from conftest import RELEASE_BIN, ROOT

PRODUCTS = {"uploader": "Dockerfile.uploader", "processor": "Dockerfile.processor"}
# Runtime packages that are not libraries of the binary, each with its reason.
NON_LIBRARY_PACKAGES = {
    "ca-certificates": "root certificates for TLS to Azure Storage and Microsoft Entra ID",
}


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def binary(product: str) -> Path:
    path = RELEASE_BIN / product
    if not path.is_file():
        pytest.fail(f"{path} is missing: build it with `swift build -c release --static-swift-stdlib "
                    f"--product {product}` (make lint-deploy does) or point RELEASE_BIN at it")
    return path


def needed(path: Path) -> list[str]:
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", run("readelf", "-d", str(path)))


def lazy(product: str) -> list[str]:
    """The libraries the processor is not linked against but loads with dlopen when a job needs them
    (libav*, libheif, libavif: Sources/CMediaLibraries, sonames from its generated stubs.c)."""
    if product != "processor":
        return []
    return re.findall(r'\[MP_LIBRARY_\w+\] = "(.+?)"', (ROOT / "Sources/CMediaLibraries/stubs.c").read_text())


def libraries(product: str) -> tuple[list[str], dict[str, str]]:
    """What the product loads itself (NEEDED, then the lazily loaded ones) and the whole resolved
    closure of both (soname → path)."""
    path = binary(product)
    resolved = ldd(path)
    system = dict(re.findall(r"^\s*(\S+) \(libc6,x86-64[^)]*\) => (\S+)$", run("ldconfig", "-p"), re.M))
    for name in lazy(product):
        if name not in system:
            pytest.fail(f"{product} loads {name} when a job needs it, and it is not installed here")
        resolved[name] = system[name]
        resolved.update(ldd(Path(system[name])))
    return needed(path) + lazy(product), resolved


def ldd(path: Path) -> dict[str, str]:
    """soname → resolved path for the whole closure; fails on any 'not found'."""
    resolved: dict[str, str] = {}
    for line in run("ldd", str(path)).splitlines():
        line = line.strip()
        if "not found" in line:
            pytest.fail(f"{path.name}: {line}")
        if "=>" in line:
            name, _, rest = line.partition("=>")
            target = rest.strip().split(" (")[0].strip()
            if target:
                resolved[name.strip()] = target
        elif line.startswith("/"):
            resolved[Path(line.split(" (")[0]).name] = line.split(" (")[0]
    return resolved


@lru_cache(maxsize=None)
def owner(path: str) -> str:
    """The Debian package that owns a library file (tries the path, its realpath and the merged-/usr twins)."""
    candidates = [path, os.path.realpath(path)]
    for c in list(candidates):
        if c.startswith("/usr/lib/"):
            candidates.append(c[len("/usr"):])
        elif c.startswith("/lib"):
            candidates.append("/usr" + c)
    for c in candidates:
        result = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
        if result.returncode == 0:
            package = result.stdout.splitlines()[0].split(":")[0].split(",")[0].strip()
            return package
    pytest.fail(f"no Debian package owns {path} (tried {candidates})")


@lru_cache(maxsize=1)
def installed() -> dict[str, dict[str, str]]:
    out = run("dpkg-query", "-W", "-f=${Package}\t${Priority}\t${Essential}\t${Pre-Depends}\t${Depends}\t${Provides}\n")
    packages: dict[str, dict[str, str]] = {}
    for line in out.splitlines():
        name, priority, essential, pre, depends, provides = (line.split("\t") + [""] * 6)[:6]
        packages[name] = {"priority": priority, "essential": essential, "depends": f"{pre}, {depends}", "provides": provides}
    return packages


@lru_cache(maxsize=1)
def providers() -> dict[str, str]:
    virtual: dict[str, str] = {}
    for name, info in installed().items():
        for item in info["provides"].split(","):
            if item.strip():
                virtual.setdefault(item.strip().split()[0], name)
    return virtual


def closure(roots: set[str]) -> set[str]:
    """The packages in roots plus everything they depend on (as installed on this machine)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        info = installed().get(name)
        if not info:
            continue
        for clause in info["depends"].split(","):
            alternatives = [a.strip().split()[0].split(":")[0] for a in clause.split("|") if a.strip()]
            present = [a for a in alternatives if a in installed()] or [providers()[a] for a in alternatives if a in providers()]
            if present:
                todo.append(present[0])
    return seen


@lru_cache(maxsize=1)
def base_image_packages() -> frozenset[str]:
    """debian:bookworm-slim is the minbase variant: Priority required (+ Essential) and apt."""
    roots = {n for n, i in installed().items() if i["priority"] == "required" or i["essential"] == "yes"} | {"apt"}
    return frozenset(closure(roots))


def runtime_stage(dockerfile: str) -> dockerfile_parse.Stage:
    stages = dockerfile_parse.read(ROOT / dockerfile)
    return stages[-1]


@pytest.mark.parametrize("product", PRODUCTS)
def test_swift_runtime_is_static(product: str) -> None:
    swift = [lib for lib in needed(binary(product))
             if re.match(r"lib(swift|Foundation|dispatch|BlocksRuntime|_FoundationICU)", lib)]
    assert not swift, f"{product} was not linked with --static-swift-stdlib: it needs {swift}"


@pytest.mark.parametrize("product,dockerfile", PRODUCTS.items())
def test_runtime_stage_installs_every_needed_package(product: str, dockerfile: str) -> None:
    own, resolved = libraries(product)
    stage = runtime_stage(dockerfile)
    assert stage.image.startswith("debian:bookworm-slim"), f"{dockerfile}: runtime stage is {stage.image}"
    explicit = set(stage.apt_installs())
    base = base_image_packages()
    present_in_image = closure(explicit) | base

    direct = {lib: owner(resolved[lib]) for lib in own}
    report = "\n".join(f"  {lib:32} {pkg}{'  (base image)' if pkg in base else ''}" for lib, pkg in sorted(direct.items()))
    print(f"\n{product}: NEEDED and loaded when a job needs it → Debian package\n{report}")
    missing = {lib: pkg for lib, pkg in direct.items() if pkg not in explicit and pkg not in base}
    assert not missing, f"{dockerfile} runtime stage does not install {sorted(set(missing.values()))} for {sorted(missing)}"

    transitive = {lib: owner(p) for lib, p in resolved.items() if p.startswith("/")}
    print(f"{product}: {len(transitive)} libraries in the ldd closure from {len(set(transitive.values()))} packages, "
          f"all installed by the runtime stage's apt-get (with dependencies) or in bookworm-slim")
    if product == "processor":
        # H.264 encoding comes from libx264 behind libavcodec: apt must bring it in as a dependency.
        x264 = [pkg for lib, pkg in transitive.items() if lib.startswith("libx264.so")]
        assert x264 and x264[0] in present_in_image, "libx264 must reach the processor image through libavcodec"
    missing_transitive = {lib: pkg for lib, pkg in transitive.items() if pkg not in present_in_image}
    assert not missing_transitive, (
        f"{dockerfile}: libraries of the binary's dependencies would be missing: {missing_transitive}")


@pytest.mark.parametrize("product,dockerfile", PRODUCTS.items())
def test_runtime_stage_installs_nothing_unneeded(product: str, dockerfile: str) -> None:
    own, resolved = libraries(product)
    direct_packages = {owner(resolved[lib]) for lib in own}
    explicit = runtime_stage(dockerfile).apt_installs()
    assert len(explicit) == len(set(explicit)), f"{dockerfile}: a package is listed twice"
    extra = [p for p in explicit if p not in direct_packages and p not in NON_LIBRARY_PACKAGES]
    assert not extra, f"{dockerfile}: runtime packages no library of {product} comes from: {extra}"
    dev = [p for p in explicit if p.endswith("-dev")]
    assert not dev, f"{dockerfile}: -dev packages in the runtime stage: {dev}"


@pytest.mark.parametrize("dockerfile", PRODUCTS.values())
def test_runtime_packages_exist_in_debian(dockerfile: str) -> None:
    for package in runtime_stage(dockerfile).apt_installs():
        known = package in installed() or subprocess.run(
            ["apt-cache", "show", package], capture_output=True).returncode == 0
        assert known, f"{dockerfile}: {package} is not a Debian bookworm package"


def test_proof_detects_a_missing_package() -> None:
    """The check above must fail when a needed package is dropped from the runtime stage."""
    own, resolved = libraries("processor")
    for dropped in ("libwebp7", "libavcodec59"):  # linked; loaded when a job needs it
        explicit = set(runtime_stage("Dockerfile.processor").apt_installs()) - {dropped}
        direct = {lib: owner(resolved[lib]) for lib in own}
        missing = {pkg for pkg in direct.values() if pkg not in explicit and pkg not in base_image_packages()}
        assert missing == {dropped}
