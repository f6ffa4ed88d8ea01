"""Terraform provider version constraints and the arguments a configuration uses.

Used by test_terraform.py to check infra/*.tf against azurerm_arguments.json: every argument the
configuration sets must exist (and not be deprecated) in every azurerm version that
required_providers allows.

Versions are (major, minor, patch) tuples. A constraint string is turned into the set of versions it
allows, kept as a sorted list of half-open intervals [low, high) (high None = no upper bound); the
version space is discrete, so "> v" is [v.patch+1, ...) and "<= v" is [..., v.patch+1).
Pre-release versions are not modelled (Terraform only selects them when named exactly).
"""
from __future__ import annotations

import re
from typing import Iterable, Optional

Version = tuple[int, int, int]
Interval = tuple[Version, Optional[Version]]

ZERO: Version = (0, 0, 0)
_CLAUSE = re.compile(r"^\s*(~>|>=|<=|!=|=|>|<)?\s*(\d+(?:\.\d+){0,2})\s*$")


def parse_version(text: str) -> Version:
    """'4', '4.46' or '4.46.0' -> (4, 46, 0). Anything else (pre-release, build, 'v' prefix) fails."""
    if not re.fullmatch(r"\d+(?:\.\d+){0,2}", text.strip()):
        raise ValueError(f"not a plain version: {text!r}")
    parts = [int(p) for p in text.strip().split(".")]
    return tuple(parts + [0] * (3 - len(parts)))  # type: ignore[return-value]


def version_str(v: Optional[Version]) -> str:
    return "∞" if v is None else ".".join(map(str, v))


def _next(v: Version) -> Version:
    """The smallest version greater than v."""
    return (v[0], v[1], v[2] + 1)


def _clause(op: str, text: str) -> list[Interval]:
    v = parse_version(text)
    if op in ("", "="):
        return [(v, _next(v))]
    if op == "!=":
        return [(ZERO, v), (_next(v), None)]
    if op == ">":
        return [(_next(v), None)]
    if op == ">=":
        return [(v, None)]
    if op == "<":
        return [(ZERO, v)]
    if op == "<=":
        return [(ZERO, _next(v))]
    if op == "~>":
        # Only the right-most given component may increase: ~> 4.46.1 is [4.46.1, 4.47.0),
        # ~> 4.46 is [4.46.0, 5.0.0), ~> 4 is [4.0.0, 5.0.0) (Terraform's pessimistic operator).
        segments = len(text.strip().split("."))
        upper = (v[0], v[1] + 1, 0) if segments == 3 else (v[0] + 1, 0, 0)
        return [(v, upper)]
    raise ValueError(f"unknown operator {op!r}")  # pragma: no cover - the regex admits no other


def _intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for lo1, hi1 in a:
        for lo2, hi2 in b:
            lo = max(lo1, lo2)
            his = [h for h in (hi1, hi2) if h is not None]
            hi = min(his) if his else None
            if hi is None or lo < hi:
                out.append((lo, hi))
    return _merge(out)


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for lo, hi in sorted(intervals, key=lambda i: i[0]):
        if out and (out[-1][1] is None or lo <= out[-1][1]):
            prev_lo, prev_hi = out[-1]
            out[-1] = (prev_lo, None if prev_hi is None or hi is None else max(prev_hi, hi))
        else:
            out.append((lo, hi))
    return out


def allowed(constraint: str) -> list[Interval]:
    """The versions a Terraform version constraint allows, e.g. '>= 4.65, != 4.75.0, < 4.82'.

    Comma-separated clauses are ANDed, as in Terraform; operators: = (or none), !=, >, >=, <, <=, ~>.
    """
    result: list[Interval] = [(ZERO, None)]
    for raw in constraint.split(","):
        m = _CLAUSE.match(raw)
        if not m:
            raise ValueError(f"cannot parse version constraint clause {raw!r} in {constraint!r}")
        result = _intersect(result, _clause(m.group(1) or "", m.group(2)))
    return result


def allows(constraint: str, version: str) -> bool:
    v = parse_version(version)
    return any(lo <= v and (hi is None or v < hi) for lo, hi in allowed(constraint))


def describe(intervals: list[Interval]) -> str:
    return " ∪ ".join(f"[{version_str(lo)}, {version_str(hi)})" for lo, hi in intervals) or "∅"


def outside(intervals: list[Interval], introduced: Version, until: Optional[Version]) -> list[str]:
    """Why the allowed versions do not all lie in [introduced, until); [] when they do."""
    problems = []
    if not intervals:
        return ["the constraint allows no version at all"]
    lowest = intervals[0][0]
    if lowest < introduced:
        problems.append(f"allows {version_str(lowest)}, before {version_str(introduced)}")
    if until is not None:
        highest = intervals[-1][1]
        if highest is None or highest > until:
            problems.append(f"allows versions up to {version_str(highest)} (exclusive), "
                            f"not only below {version_str(until)}")
    return problems


# ---- arguments used by a configuration --------------------------------------------------------

# Terraform meta-arguments: handled by Terraform itself, not by the provider's schema.
META_ARGUMENTS = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}


def _is_block_list(value) -> bool:
    """python-hcl2 wraps every attribute value in a one-element list and gives every block as a list
    of dicts whose own values are (wrapped) lists. A map-valued attribute (tags = {...},
    node_labels = {...}) is a one-element list holding a dict whose values are plain."""
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        return False
    return all(isinstance(inner, list) for body in value for key, inner in body.items()
               if not key.startswith("__"))


def _unquote(name: str) -> str:
    return name[1:-1] if len(name) >= 2 and name[0] == name[-1] == '"' else name


def block_arguments(body: dict, prefix: str = "", top: bool = True) -> set[str]:
    """Dotted paths of every argument and nested block set in a resource/data/provider body;
    `dynamic "x" { content { y = ... } }` counts as block x with argument x.y."""
    found: set[str] = set()
    for key, value in body.items():
        key = _unquote(key)
        if key.startswith("__") or (top and key in META_ARGUMENTS):
            continue
        if key == "dynamic":
            for dynamic in value:
                for name, spec in dynamic.items():
                    name = _unquote(name)
                    found.add(prefix + name)
                    for content in spec.get("content", []):
                        found |= block_arguments(content, f"{prefix}{name}.", top=False)
            continue
        found.add(prefix + key)
        if _is_block_list(value):
            for nested in value:
                found |= block_arguments(nested, f"{prefix}{key}.", top=False)
    return found


def used_arguments(documents: Iterable[dict], provider: str = "azurerm") -> dict[str, set[str]]:
    """{"azurerm_x": {...}, "data.azurerm_y": {...}, "provider.azurerm": {...}} for the blocks of one
    provider in python-hcl2 documents (one per .tf file)."""
    used: dict[str, set[str]] = {}
    for doc in documents:
        for kind, label_prefix in (("resource", ""), ("data", "data.")):
            for block in doc.get(kind, []):
                for rtype, named in block.items():
                    rtype = _unquote(rtype)
                    if not rtype.startswith(provider + "_"):
                        continue
                    for body in named.values():
                        used.setdefault(label_prefix + rtype, set()).update(block_arguments(body))
        for block in doc.get("provider", []):
            for name, body in block.items():
                if _unquote(name) == provider:
                    used.setdefault(f"provider.{provider}", set()).update(block_arguments(body))
    return used
