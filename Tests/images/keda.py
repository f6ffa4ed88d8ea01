"""KEDA's part, played in Python: the `azure-queue` trigger of `k8s/keda.yaml`, KEDA's scale loop and
the HorizontalPodAutoscaler KEDA creates, as pure code with an injectable clock.

What it reproduces (read from the sources, not from memory of them):

* The scaler (kedacore/keda `pkg/scalers/azure_queue_scaler.go`, `GetMetricsAndActivity`): the metric is
  the queue length — with `queueLengthStrategy: all` the queue's *approximate message count*, which
  includes invisible (leased, delayed) messages; `visibleonly` peeks up to 32 messages and falls back to
  the approximate count at 32 — and the trigger is *active* when `queueLength > activationQueueLength`.
  The metric goes to the HPA as an External metric with an `AverageValue` target of `queueLength`.
* KEDA's scale loop, every `pollingInterval` (`pkg/scaling/executor/scale_scaledobjects.go`,
  `RequestScale`): 0 replicas and active → `max(minReplicaCount, 1)` and `lastActiveTime = now`;
  active with replicas → `lastActiveTime = now` (the HPA scales); inactive with replicas and
  `minReplicaCount == 0` → 0 replicas once `lastActiveTime + cooldownPeriod` is *before* now
  (otherwise "cooling down"); inactive below a non-zero minimum → the minimum.
* The HPA (kubernetes `pkg/controller/podautoscaler/horizontal.go`, `replica_calculator.go`), every
  sync period (kube-controller-manager `--horizontal-pod-autoscaler-sync-period`, 15 s): KEDA gives it
  `minReplicas = max(minReplicaCount, 1)`, `maxReplicas = maxReplicaCount`; with 0 replicas scaling is
  disabled; otherwise `GetExternalPerPodMetricReplicas`: `ratio = metric / (target × replicas)`, and
  only when `|1 − ratio| > tolerance` (0.1) the proposal is `ceil(metric / target)`, else the current
  count; then `stabilizeRecommendationWithBehaviors` (scaling up: the *lowest* recommendation of the
  scale-up window, scaling down: the *highest* of the scale-down window), then
  `convertDesiredReplicasWithBehaviorRate` (each policy's limit from the replicas at the start of its
  period = current ∓ the HPA's own changes within `periodSeconds`; `selectPolicy` Max/Min/Disabled;
  bounded by min/max replicas); scale events are recorded for the policies.

Time: every duration can be divided by a factor (`Spec.compressed`) so that a test can watch a
5-minute cooldown in 30 s; the formula itself is unchanged.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import yaml

ROOT = Path(__file__).resolve().parents[2]
KEDA_YAML = ROOT / "k8s" / "keda.yaml"

# Defaults: KEDA's ScaledObject (pollingInterval 30, cooldownPeriod 300, min 0, max 100), the azure-queue
# scaler (queueLength 5, activationQueueLength 0, strategy all), kube-controller-manager (HPA sync period
# 15 s, tolerance 0.1) and the HPA API's default behavior (autoscaling/v2 SetDefaults).
DEFAULT_POLLING_INTERVAL = 30
DEFAULT_COOLDOWN_PERIOD = 300
DEFAULT_MAX_REPLICAS = 100
DEFAULT_QUEUE_LENGTH = 5
HPA_SYNC_PERIOD = 15.0
HPA_TOLERANCE = 0.1


@dataclass(frozen=True)
class Policy:
    type: str  # "Pods" | "Percent"
    value: int
    period_seconds: float


@dataclass(frozen=True)
class Rules:
    stabilization_window_seconds: float
    policies: tuple[Policy, ...]
    select_policy: str = "Max"  # "Max" | "Min" | "Disabled"


DEFAULT_SCALE_UP = Rules(0, (Policy("Percent", 100, 15), Policy("Pods", 4, 15)))
DEFAULT_SCALE_DOWN = Rules(300, (Policy("Percent", 100, 15),))


@dataclass(frozen=True)
class Spec:
    """What of the ScaledObject (and the HPA it generates) decides replica counts."""
    polling_interval: float = DEFAULT_POLLING_INTERVAL
    cooldown_period: float = DEFAULT_COOLDOWN_PERIOD
    min_replica_count: int = 0
    max_replica_count: int = DEFAULT_MAX_REPLICAS
    queue_name: str = ""
    queue_length: float = DEFAULT_QUEUE_LENGTH
    activation_queue_length: float = 0
    queue_length_strategy: str = "all"
    scale_up: Rules = DEFAULT_SCALE_UP
    scale_down: Rules = DEFAULT_SCALE_DOWN
    hpa_sync_period: float = HPA_SYNC_PERIOD
    tolerance: float = HPA_TOLERANCE
    time_scale: float = 1.0

    @property
    def hpa_min_replicas(self) -> int:
        """KEDA's generated HPA cannot go below 1; 0 is KEDA's own business (activation/cooldown)."""
        return max(self.min_replica_count, 1)

    @property
    def hpa_max_replicas(self) -> int:
        return self.max_replica_count

    def compressed(self, factor: float) -> "Spec":
        """The same ScaledObject with every duration divided by `factor` (the formula is untouched)."""
        if factor == 1:
            return self

        def rules(r: Rules) -> Rules:
            return replace(r, stabilization_window_seconds=r.stabilization_window_seconds / factor,
                           policies=tuple(replace(p, period_seconds=p.period_seconds / factor) for p in r.policies))
        return replace(self, polling_interval=self.polling_interval / factor, cooldown_period=self.cooldown_period / factor,
                       scale_up=rules(self.scale_up), scale_down=rules(self.scale_down),
                       hpa_sync_period=self.hpa_sync_period / factor, time_scale=self.time_scale * factor)

    def describe(self) -> str:
        def rules(r: Rules) -> str:
            policies = ", ".join(f"{p.type} {p.value}/{p.period_seconds:g}s" for p in r.policies)
            return f"window {r.stabilization_window_seconds:g}s, {policies}, select {r.select_policy}"
        return (f"time ÷{self.time_scale:g}: pollingInterval {self.polling_interval:g}s, cooldownPeriod {self.cooldown_period:g}s, "
                f"HPA sync {self.hpa_sync_period:g}s; replicas {self.min_replica_count}..{self.max_replica_count} "
                f"(HPA {self.hpa_min_replicas}..{self.hpa_max_replicas}); queueLength {self.queue_length:g}, "
                f"activationQueueLength {self.activation_queue_length:g}, strategy {self.queue_length_strategy}, "
                f"tolerance {self.tolerance:g}; scaleUp [{rules(self.scale_up)}]; scaleDown [{rules(self.scale_down)}]")


def _rules(raw: dict | None, default: Rules) -> Rules:
    if not raw:
        return default
    policies = tuple(Policy(p["type"], int(p["value"]), float(p["periodSeconds"])) for p in raw.get("policies") or ())
    return Rules(float(raw.get("stabilizationWindowSeconds", default.stabilization_window_seconds)),
                 policies or default.policies, raw.get("selectPolicy", "Max"))


def load(path: Path | str = KEDA_YAML, trigger_type: str = "azure-queue") -> Spec:
    """The ScaledObject in `path` (a multi-document manifest) and its `trigger_type` trigger."""
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    objects = [d for d in docs if d.get("kind") == "ScaledObject"]
    if len(objects) != 1:
        raise ValueError(f"{path}: expected one ScaledObject, found {len(objects)}")
    spec = objects[0]["spec"]
    triggers = [t for t in spec.get("triggers", []) if t.get("type") == trigger_type]
    if len(triggers) != 1:
        raise ValueError(f"{path}: expected one {trigger_type} trigger, found {len(triggers)}")
    meta = triggers[0].get("metadata", {})
    if triggers[0].get("metricType", "AverageValue") != "AverageValue":
        raise ValueError("only the AverageValue metric type is modelled")
    behavior = ((spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}).get("behavior") or {}
    return Spec(
        polling_interval=float(spec.get("pollingInterval", DEFAULT_POLLING_INTERVAL)),
        cooldown_period=float(spec.get("cooldownPeriod", DEFAULT_COOLDOWN_PERIOD)),
        min_replica_count=int(spec.get("minReplicaCount", 0)),
        max_replica_count=int(spec.get("maxReplicaCount", DEFAULT_MAX_REPLICAS)),
        queue_name=meta.get("queueName", ""),
        queue_length=float(meta.get("queueLength", DEFAULT_QUEUE_LENGTH)),
        activation_queue_length=float(meta.get("activationQueueLength", 0)),
        queue_length_strategy=str(meta.get("queueLengthStrategy", "all")).lower(),
        scale_up=_rules(behavior.get("scaleUp"), DEFAULT_SCALE_UP),
        scale_down=_rules(behavior.get("scaleDown"), DEFAULT_SCALE_DOWN),
    )


# ---- the pure pieces ----------------------------------------------------------------------------

def queue_metric(approximate_count: int, visible_peeked: int | None, strategy: str) -> int:
    """The scaler's number: `all` → the approximate count (visible + invisible); `visibleonly` → the
    peeked visible messages (at most 32), falling back to the approximate count at 32."""
    if strategy == "visibleonly" and visible_peeked is not None and visible_peeked < 32:
        return visible_peeked
    return approximate_count


def is_active(queue_length: float, activation_queue_length: float) -> bool:
    return queue_length > activation_queue_length


def metric_replicas(metric: float, target: float, status_replicas: int, tolerance: float = HPA_TOLERANCE) -> int:
    """GetExternalPerPodMetricReplicas: the HPA's proposal for an AverageValue external metric."""
    if status_replicas == 0:  # Go's float division: x/0 = +Inf, 0/0 = NaN (and NaN > t is false)
        ratio = math.nan if metric == 0 else math.inf
    else:
        ratio = metric / (target * status_replicas)
    if abs(1.0 - ratio) > tolerance:
        return int(math.ceil(metric / target))
    return status_replicas


def _changes_within(events: list[tuple[float, int]], period: float, now: float) -> int:
    cutoff = now - period
    return sum(change for t, change in events if t > cutoff)


def scale_up_limit(current: int, up_events: list[tuple[float, int]], rules: Rules, now: float) -> int:
    """calculateScaleUpLimitWithScalingRules."""
    if rules.select_policy == "Disabled":
        return current
    pick = min if rules.select_policy == "Min" else max
    result = None
    for p in rules.policies:
        start = current - _changes_within(up_events, p.period_seconds, now)
        proposed = start + p.value if p.type == "Pods" else int(math.ceil(start * (1 + p.value / 100)))
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result


def scale_down_limit(current: int, down_events: list[tuple[float, int]], rules: Rules, now: float) -> int:
    """calculateScaleDownLimitWithBehaviors."""
    if rules.select_policy == "Disabled":
        return current
    pick = max if rules.select_policy == "Min" else min
    result = None
    for p in rules.policies:
        start = current + _changes_within(down_events, p.period_seconds, now)
        proposed = start - p.value if p.type == "Pods" else int(start * (1 - p.value / 100))
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result


def stabilize(recommendations: list[tuple[float, int]], desired: int, current: int, spec: Spec, now: float) -> int:
    """stabilizeRecommendationWithBehaviors (without recording; the caller appends (now, desired))."""
    if desired >= current:
        window, better = spec.scale_up.stabilization_window_seconds, min
    else:
        window, better = spec.scale_down.stabilization_window_seconds, max
    cutoff = now - window
    result = desired
    for t, rec in recommendations:
        if t > cutoff:
            result = better(rec, result)
    return result


def rate_limit(desired: int, current: int, spec: Spec, up_events, down_events, now: float) -> int:
    """convertDesiredReplicasWithBehaviorRate."""
    if desired > current:
        limit = max(scale_up_limit(current, up_events, spec.scale_up, now), current)
        return min(desired, spec.hpa_max_replicas, limit)
    if desired < current:
        limit = min(scale_down_limit(current, down_events, spec.scale_down, now), current)
        return max(desired, spec.hpa_min_replicas, limit)
    return desired


# ---- the two control loops ----------------------------------------------------------------------

@dataclass
class Decision:
    at: float            # clock time
    loop: str            # "keda" | "hpa"
    queue_length: int
    active: bool
    before: int
    after: int
    reason: str
    proposal: int | None = None   # the HPA's metric proposal (before stabilization and policies)

    @property
    def changed(self) -> bool:
        return self.after != self.before


@dataclass
class Autoscaler:
    """KEDA's scale loop and the HPA for one ScaledObject; `replicas` is the Deployment's spec.replicas."""
    spec: Spec
    replicas: int = 0
    clock: Callable[[], float] = time.monotonic
    last_active: float | None = None
    recommendations: list[tuple[float, int]] = field(default_factory=list)
    up_events: list[tuple[float, int]] = field(default_factory=list)
    down_events: list[tuple[float, int]] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    next_keda: float | None = None
    next_hpa: float | None = None

    def keda_loop(self, queue_length: int, now: float | None = None) -> Decision:
        now = self.clock() if now is None else now
        s = self.spec
        active = is_active(queue_length, s.activation_queue_length)
        before = self.replicas
        if before == 0 and active:
            self.replicas = max(s.min_replica_count, 1)
            self.last_active = now
            reason = f"activated: {queue_length} > activationQueueLength {s.activation_queue_length:g}"
        elif not active and before > 0 and s.min_replica_count == 0:
            if self.last_active is None or self.last_active + s.cooldown_period < now:
                self.replicas = 0
                reason = "inactive for cooldownPeriod: scale to zero"
            else:
                reason = f"cooling down ({now - self.last_active:.1f}s of {s.cooldown_period:g}s)"
        elif not active and before < s.min_replica_count:
            self.replicas = s.min_replica_count
            reason = "inactive below minReplicaCount"
        elif active:
            self.last_active = now
            reason = "active: the HPA scales"
        else:
            reason = "inactive, no change"
        decision = Decision(now, "keda", queue_length, active, before, self.replicas, reason)
        self.decisions.append(decision)
        return decision

    def hpa_sync(self, queue_length: int, status_replicas: int | None = None, now: float | None = None) -> Decision:
        now = self.clock() if now is None else now
        s = self.spec
        current = self.replicas
        status = current if status_replicas is None else status_replicas
        active = is_active(queue_length, s.activation_queue_length)
        if not self.recommendations:
            self.recommendations.append((now, current))  # recordInitialRecommendation
        proposal = None
        if current == 0:
            desired, reason = 0, "scaling disabled: 0 replicas (KEDA activates)"
        elif current > s.hpa_max_replicas:
            desired, reason = s.hpa_max_replicas, "above maxReplicas"
        elif current < s.hpa_min_replicas:
            desired, reason = s.hpa_min_replicas, "below minReplicas"
        else:
            proposal = metric_replicas(queue_length, s.queue_length, status, s.tolerance)
            stabilized = stabilize(self.recommendations, proposal, current, s, now)
            keep = max(s.scale_up.stabilization_window_seconds, s.scale_down.stabilization_window_seconds)
            self.recommendations = [(t, r) for t, r in self.recommendations if t >= now - keep] + [(now, proposal)]
            desired = rate_limit(stabilized, current, s, self.up_events, self.down_events, now)
            reason = f"ceil({queue_length}/{s.queue_length:g})={proposal}"
            if stabilized != proposal:
                reason += f", stabilized {stabilized}"
            if desired != stabilized:
                reason += f", limited {desired}"
        if desired != current:
            if desired > current:
                self.up_events.append((now, desired - current))
            else:
                self.down_events.append((now, current - desired))
            longest = max([p.period_seconds for p in s.scale_up.policies + s.scale_down.policies] or [0])
            self.up_events = [e for e in self.up_events if e[0] > now - longest]
            self.down_events = [e for e in self.down_events if e[0] > now - longest]
            self.replicas = desired
        decision = Decision(now, "hpa", queue_length, active, current, self.replicas, reason, proposal)
        self.decisions.append(decision)
        return decision

    def tick(self, read_queue_length: Callable[[], int], status_replicas: int | None = None,
             now: float | None = None) -> list[Decision]:
        """Runs the loops that are due at `now` (KEDA first, as its activation is what wakes the HPA);
        reads the queue at most once. Returns the decisions taken (possibly none)."""
        now = self.clock() if now is None else now
        due_keda = self.next_keda is None or now >= self.next_keda
        due_hpa = self.next_hpa is None or now >= self.next_hpa
        if not (due_keda or due_hpa):
            return []
        length = read_queue_length()
        out = []
        if due_keda:
            out.append(self.keda_loop(length, now))
            self.next_keda = now + self.spec.polling_interval
        if due_hpa:
            out.append(self.hpa_sync(length, status_replicas, now))
            self.next_hpa = now + self.spec.hpa_sync_period
        return out


def replay(spec: Spec, samples: list[tuple[float, int, int | None]], replicas: int = 0) -> list[Decision]:
    """Runs a fresh Autoscaler over recorded (time, queue length, status replicas) samples: the decision
    sequence a live run took must come out again, which shows it followed the formula."""
    auto = Autoscaler(spec, replicas=replicas, clock=lambda: 0.0)
    out: list[Decision] = []
    for at, length, status in samples:
        out += auto.tick(lambda: length, status, now=at)
    return out
