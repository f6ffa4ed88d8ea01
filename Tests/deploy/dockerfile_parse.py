"""A small Dockerfile reader: stages, instructions with continuation lines joined, apt-get lists."""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (KEYWORD, arguments)

    def args(self, keyword: str) -> list[str]:
        return [a for k, a in self.instructions if k == keyword]

    def apt_installs(self) -> list[str]:
        """Every package named after `apt-get install` in this stage's RUN instructions."""
        packages: list[str] = []
        for run in self.args("RUN"):
            for command in re.split(r"&&|;|\|\|", run):
                words = shlex.split(command, comments=False)
                if len(words) >= 2 and words[0] == "apt-get" and "install" in words:
                    after = words[words.index("install") + 1:]
                    packages += [w for w in after if not w.startswith("-")]
        return packages


def read(path: Path) -> list[Stage]:
    lines: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") and not pending:
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        pending += stripped
        if pending.strip():
            lines.append(pending.strip())
        pending = ""
    stages: list[Stage] = []
    for line in lines:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = arguments.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(image=parts[0], name=name))
        elif stages:
            stages[-1].instructions.append((keyword, arguments.strip()))
    return stages
