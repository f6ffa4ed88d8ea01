"""KEDA's formula for the azure-queue trigger (keda.py), without containers: activation, the HPA's
proposal and tolerance, min/max, stabilization windows, scale policies, cooldown to zero — on the
values of k8s/keda.yaml and on hand-made ScaledObjects."""
from __future__ import annotations

import math
import os
import sys

import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keda  # noqa: E402
from keda import Autoscaler, Policy, Rules, Spec  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def images_exist():
    """Overrides conftest's session check for the images: this module runs no container."""
    yield


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def auto(spec: Spec, replicas: int = 0) -> tuple[Autoscaler, Clock]:
    clock = Clock()
    return Autoscaler(spec, replicas=replicas, clock=clock), clock


# Behaviour without limits, to look at one rule at a time.
FREE = Spec(polling_interval=10, cooldown_period=300, min_replica_count=0, max_replica_count=20, queue_length=4,
            scale_up=Rules(0, (Policy("Pods", 100, 1),)), scale_down=Rules(0, (Policy("Percent", 100, 1),)))


# ---- reading keda.yaml --------------------------------------------------------------------------

def test_load_reads_the_scaledobject_of_keda_yaml():
    raw = [d for d in yaml.safe_load_all(open(keda.KEDA_YAML)) if d and d["kind"] == "ScaledObject"][0]["spec"]
    meta = raw["triggers"][0]["metadata"]
    behavior = raw["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    spec = keda.load()
    assert raw["triggers"][0]["type"] == "azure-queue"
    assert spec.polling_interval == raw["pollingInterval"]
    assert spec.cooldown_period == raw["cooldownPeriod"]
    assert (spec.min_replica_count, spec.max_replica_count) == (raw["minReplicaCount"], raw["maxReplicaCount"])
    assert spec.queue_name == meta["queueName"] == "jobqueue"
    assert spec.queue_length == float(meta["queueLength"])
    assert spec.activation_queue_length == float(meta["activationQueueLength"])
    assert spec.queue_length_strategy == meta["queueLengthStrategy"] == "all"
    assert spec.scale_up.stabilization_window_seconds == behavior["scaleUp"]["stabilizationWindowSeconds"]
    assert spec.scale_down.stabilization_window_seconds == behavior["scaleDown"]["stabilizationWindowSeconds"]
    assert [(p.type, p.value, p.period_seconds) for p in spec.scale_up.policies] == \
        [(p["type"], p["value"], p["periodSeconds"]) for p in behavior["scaleUp"]["policies"]]
    assert [(p.type, p.value, p.period_seconds) for p in spec.scale_down.policies] == \
        [(p["type"], p["value"], p["periodSeconds"]) for p in behavior["scaleDown"]["policies"]]
    assert spec.hpa_min_replicas == max(1, raw["minReplicaCount"])


def test_defaults_when_the_scaledobject_leaves_things_out(tmp_path):
    path = tmp_path / "so.yaml"
    path.write_text("kind: ScaledObject\nspec:\n  scaleTargetRef: {name: x}\n  triggers:\n"
                    "    - type: azure-queue\n      metadata: {queueName: q}\n")
    spec = keda.load(path)
    assert (spec.polling_interval, spec.cooldown_period, spec.min_replica_count, spec.max_replica_count) == (30, 300, 0, 100)
    assert (spec.queue_length, spec.activation_queue_length, spec.queue_length_strategy) == (5, 0, "all")
    assert spec.scale_up == keda.DEFAULT_SCALE_UP and spec.scale_down == keda.DEFAULT_SCALE_DOWN


def test_time_compression_divides_every_duration_and_nothing_else():
    spec = keda.load()
    fast = spec.compressed(10)
    assert fast.polling_interval == spec.polling_interval / 10
    assert fast.cooldown_period == spec.cooldown_period / 10
    assert fast.hpa_sync_period == keda.HPA_SYNC_PERIOD / 10
    assert fast.scale_down.stabilization_window_seconds == spec.scale_down.stabilization_window_seconds / 10
    assert [p.period_seconds for p in fast.scale_up.policies] == [p.period_seconds / 10 for p in spec.scale_up.policies]
    assert [p.value for p in fast.scale_up.policies] == [p.value for p in spec.scale_up.policies]
    assert (fast.queue_length, fast.activation_queue_length, fast.min_replica_count, fast.max_replica_count, fast.tolerance) == \
        (spec.queue_length, spec.activation_queue_length, spec.min_replica_count, spec.max_replica_count, spec.tolerance)


# ---- the scaler's number and activity -----------------------------------------------------------

def test_queue_length_strategies():
    # all: the approximate count, leased (invisible) messages included.
    assert keda.queue_metric(40, 3, "all") == 40
    # visibleonly: the peeked visible messages, up to 31; at 32 (a full peek) the approximate count.
    assert keda.queue_metric(40, 3, "visibleonly") == 3
    assert keda.queue_metric(40, 32, "visibleonly") == 40


@pytest.mark.parametrize("length, activation, active", [(0, 0, False), (1, 0, True), (5, 5, False), (6, 5, True)])
def test_activation_is_strictly_greater_than_activationQueueLength(length, activation, active):
    assert keda.is_active(length, activation) is active


# ---- the HPA proposal ---------------------------------------------------------------------------

@pytest.mark.parametrize("metric, target, status, expected", [
    (9, 4, 1, 3),      # ceil(9/4)
    (300, 4, 1, 75),   # before max
    (21, 4, 5, 5),     # ratio 1.05: inside the 10 % tolerance, keep 5
    (18, 4, 5, 5),     # ratio 0.90: on the edge, |1-0.9| is not > 0.1 (floating point says 0.0999…)
    (23, 4, 5, 6),     # ratio 1.15: ceil(23/4)
    (17, 4, 5, 5),     # ratio 0.85: ceil(17/4) = 5
    (12, 4, 5, 3),     # ratio 0.6
    (0, 4, 3, 0),      # empty: 0 (min replicas applies later)
    (3, 4, 0, 1),      # no pod yet: +Inf ratio → ceil
    (0, 4, 0, 0),      # 0/0 = NaN: keep the status count
])
def test_hpa_proposal_is_ceil_of_length_over_target_outside_the_tolerance(metric, target, status, expected):
    assert keda.metric_replicas(metric, target, status) == expected


def test_tolerance_keeps_the_count_near_the_target():
    a, clock = auto(FREE, replicas=10)
    assert a.hpa_sync(43).after == 10        # 43/40 = 1.075
    clock.now = 1
    assert a.hpa_sync(45).after == 12        # 45/40 = 1.125 → ceil(45/4)


# ---- KEDA: activation and scale to zero ---------------------------------------------------------

def test_one_message_wakes_the_first_replica_and_the_hpa_only_acts_with_replicas():
    a, clock = auto(FREE)
    assert a.keda_loop(0).after == 0
    d = a.hpa_sync(0)
    assert d.after == 0 and "disabled" in d.reason
    clock.now = 10
    d = a.keda_loop(1)
    assert (d.before, d.after, d.active) == (0, 1, True)
    assert a.last_active == 10


def test_activation_threshold_above_zero():
    a, clock = auto(Spec(queue_length=4, activation_queue_length=10, max_replica_count=20))
    assert a.keda_loop(10).after == 0   # not > 10
    d = a.hpa_sync(10)
    assert d.after == 0                 # the HPA cannot start from zero either
    assert a.keda_loop(11).after == 1


def test_cooldown_counts_from_the_last_active_poll():
    a, clock = auto(FREE)
    a.keda_loop(5)                       # t=0: activated
    clock.now = 100
    a.keda_loop(2)                       # t=100: active → lastActiveTime 100
    for t in (110, 250, 400):            # inactive, but 100 + 300 is not before t
        clock.now = t
        d = a.keda_loop(0)
        assert d.after == 1 and "cooling down" in d.reason
    clock.now = 400.5
    d = a.keda_loop(0)
    assert (d.before, d.after) == (1, 0)


def test_scale_to_zero_happens_from_any_count_at_once():
    a, clock = auto(FREE, replicas=0)
    a.keda_loop(80)
    a.hpa_sync(80)
    assert a.replicas == 20
    clock.now = 301
    assert a.keda_loop(0).after == 0     # KEDA, not the HPA: straight from 20 to 0


def test_a_message_during_cooldown_resets_it():
    a, clock = auto(FREE)
    a.keda_loop(1)
    clock.now = 200
    a.keda_loop(0)
    clock.now = 250
    a.keda_loop(1)                       # active again
    clock.now = 501
    assert a.keda_loop(0).after == 1     # 250 + 300 > 501
    clock.now = 551
    assert a.keda_loop(0).after == 0


def test_minimum_replicas_above_zero_are_never_scaled_to_zero():
    a, clock = auto(Spec(min_replica_count=2, max_replica_count=5, queue_length=4))
    assert a.keda_loop(0).after == 2     # inactive below minReplicaCount → minimum
    clock.now = 1000
    assert a.keda_loop(0).after == 2
    assert a.hpa_sync(0).after == 2


# ---- HPA: bounds, stabilization, policies -------------------------------------------------------

def test_hpa_bounds_are_one_and_maxReplicaCount():
    a, clock = auto(FREE, replicas=3)
    assert a.hpa_sync(1000).after == 20
    clock.now = 1
    assert a.hpa_sync(0).after == 1      # HPA minReplicas is 1 although minReplicaCount is 0
    a.replicas = 25
    clock.now = 2
    assert a.hpa_sync(1000).after == 20  # above max → max


def test_keda_yaml_scale_up_adds_four_pods_per_30_seconds():
    spec = keda.load()
    a, clock = auto(spec)
    counts = []
    for t in range(0, 181, 5):
        clock.now = t
        a.tick(lambda: 300)
        counts.append((t, a.replicas))
    steps = sorted({c for _, c in counts})
    assert steps == [5, 9, 13, 17, 20]       # KEDA 0→1 and the HPA 1→5 in the first second
    first = {c: t for t, c in reversed(counts)}
    assert first[9] - first[5] >= 30 and first[13] - first[9] >= 30


def test_scale_up_limit_counts_only_the_hpas_own_changes_within_the_period():
    rules = Rules(0, (Policy("Pods", 4, 30),))
    assert keda.scale_up_limit(1, [], rules, now=0) == 5
    assert keda.scale_up_limit(5, [(0, 4)], rules, now=10) == 5     # 4 added 10 s ago: period starts at 1
    assert keda.scale_up_limit(5, [(0, 4)], rules, now=30) == 9     # the event left the period (t > cutoff)
    percent = Rules(0, (Policy("Percent", 100, 15), Policy("Pods", 4, 15)))
    assert keda.scale_up_limit(10, [], percent, now=0) == 20         # Max: the larger change
    assert keda.scale_up_limit(10, [], Rules(0, percent.policies, "Min"), now=0) == 14
    assert keda.scale_up_limit(10, [], Rules(0, percent.policies, "Disabled"), now=0) == 10


def test_scale_down_limit():
    rules = Rules(300, (Policy("Pods", 1, 60),))
    assert keda.scale_down_limit(10, [], rules, now=0) == 9
    assert keda.scale_down_limit(9, [(0, 1)], rules, now=30) == 9
    assert keda.scale_down_limit(9, [(0, 1)], rules, now=61) == 8
    percent = Rules(0, (Policy("Percent", 50, 60), Policy("Pods", 1, 60)))
    assert keda.scale_down_limit(9, [], percent, now=0) == 4          # int(9 × 0.5): Max change
    assert keda.scale_down_limit(9, [], Rules(0, percent.policies, "Min"), now=0) == 8


def test_keda_yaml_scale_down_waits_out_the_window_then_one_pod_a_minute():
    spec = keda.load()
    a, clock = auto(spec, replicas=10)
    a.hpa_sync(40)                             # t=0: 10 wanted
    timeline = {}
    for t in range(15, 901, 15):
        clock.now = t
        a.hpa_sync(4)                          # from now on 1 would do
        timeline[t] = a.replicas
    # the 5-minute window remembers the 10 (a recommendation counts while it is *after* now - 300 s)
    assert all(timeline[t] == 10 for t in timeline if t < 300)
    after = [timeline[t] for t in sorted(timeline) if t >= 300]
    assert after[0] == 9 and min(after) == 1
    drops = [t for t in sorted(timeline) if t >= 300 and timeline[t] < timeline[t - 15]]
    assert all(b - a_ >= 60 for a_, b in zip(drops, drops[1:]))    # one pod per 60 s


def test_scale_up_stabilization_window_takes_the_lowest_recent_recommendation():
    spec = Spec(queue_length=4, max_replica_count=20, scale_up=Rules(60, (Policy("Percent", 1000, 1),)),
                scale_down=Rules(0, (Policy("Percent", 100, 1),)))
    a, clock = auto(spec, replicas=2)
    a.hpa_sync(8)                               # t=0: 2 recommended
    clock.now = 30
    assert a.hpa_sync(40).after == 2            # 10 wanted, but 2 within the last 60 s
    clock.now = 61
    assert a.hpa_sync(40).after == 10


def test_tick_runs_each_loop_on_its_own_period_and_reads_the_queue_once():
    spec = keda.load().compressed(10)           # KEDA every 1 s, HPA every 1.5 s
    a, clock = auto(spec)
    reads = []

    def read():
        reads.append(clock.now)
        return 7
    for step in range(0, 31):
        clock.now = step / 10
        a.tick(read)
    loops = [(round(d.at, 1), d.loop) for d in a.decisions]
    assert loops == [(0.0, "keda"), (0.0, "hpa"), (1.0, "keda"), (1.5, "hpa"), (2.0, "keda"), (3.0, "keda"), (3.0, "hpa")]
    assert reads == [0.0, 1.0, 1.5, 2.0, 3.0]


def test_compressed_run_is_the_real_run_on_a_faster_clock():
    spec = keda.load()
    demand = lambda t: 300 if t < 200 else (40 if t < 500 else 0)   # noqa: E731
    slow, slow_clock = auto(spec)
    fast, fast_clock = auto(spec.compressed(10))
    for step in range(0, 12001, 5):                # 0..1200 s in 0.5-s steps of real time
        t = step / 10
        slow_clock.now, fast_clock.now = t, t / 10
        slow.tick(lambda: demand(t))
        fast.tick(lambda: demand(t))
    strip = lambda ds: [(d.loop, d.before, d.after, d.queue_length) for d in ds]  # noqa: E731
    assert strip(slow.decisions) == strip(fast.decisions)
    assert slow.replicas == 0


def test_replay_reproduces_the_decisions():
    spec = keda.load().compressed(10)
    a, clock = auto(spec)
    samples = []
    lengths = [0, 0, 3, 30, 300, 280, 200, 120, 60, 20, 4, 0, 0, 0] + [0] * 60
    for i, n in enumerate(lengths):
        clock.now = i * 0.7
        running = a.replicas

        def read(n=n, running=running):
            samples.append((clock.now, n, running))
            return n
        a.tick(read, running)
    again = keda.replay(spec, samples)
    assert [(d.at, d.loop, d.before, d.after) for d in again] == [(d.at, d.loop, d.before, d.after) for d in a.decisions]
    assert a.replicas == 0 and max(d.after for d in a.decisions) == 20
    assert math.isclose(spec.cooldown_period, 30)
