"""The event files of events/ as a plan: which function each folder is for, in what order the files
run, and what each must answer.

Each folder has an `_expected.json`:

    {"function": "RegistrationsFunction",
     "after": ["callbacks"],                      # optional: folders whose files must run first
     "invocations": [["post_smartregion.json", 201],
                     ["request.json", {"isAuthorized": true, ...}]]}

An integer is the `statusCode` an API Gateway answer must have; an object is the whole answer a
non-API function must return (the authorizer's, the stream processor's). Files run in the listed
order against one seeded account (local/seed.py): a later file may read what an earlier one
created. Folders without `after` are independent of each other, so the SAM runner may run them
side by side (each lane in order); the in-process test runs the same lanes one after the other.

Both `make sam-local` (local/sam/runner.py) and tests/unit/test_event_files.py walk this plan and
judge answers with `mismatch()`, so the two cannot disagree about what an event file promises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.template import ROOT

EVENTS_DIR = ROOT / "events"
MANIFEST_NAME = "_expected.json"

Expected = int | dict[str, Any]


@dataclass(frozen=True)
class Invocation:
    folder: str
    file: str
    function: str
    expected: Expected

    @property
    def name(self) -> str:
        return f"{self.folder}/{self.file}"

    @property
    def path(self) -> Path:
        return EVENTS_DIR / self.folder / self.file

    def event(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        return loaded


@dataclass(frozen=True)
class Manifest:
    folder: str
    function: str
    after: tuple[str, ...]
    invocations: tuple[Invocation, ...]


def load_manifest(path: Path) -> Manifest:
    raw = json.loads(path.read_text(encoding="utf-8"))
    folder = path.parent.name
    function = raw["function"]
    invocations = []
    for entry in raw["invocations"]:
        file, expected = entry
        if not isinstance(expected, int | dict) or isinstance(expected, bool):
            raise ValueError(f"{folder}/{file}: expected a status code or an answer object, got {expected!r}")
        invocations.append(Invocation(folder, file, function, expected))
    return Manifest(folder, function, tuple(raw.get("after", ())), tuple(invocations))


def manifests(events_dir: Path = EVENTS_DIR) -> list[Manifest]:
    return [load_manifest(path) for path in sorted(events_dir.glob(f"*/{MANIFEST_NAME}"))]


def lanes(found: list[Manifest] | None = None) -> list[list[Manifest]]:
    """Independent sequences of folders: a folder with `after` runs in its dependencies' lane, after them."""
    found = manifests() if found is None else found
    by_folder = {m.folder: m for m in found}
    lane_of: dict[str, int] = {}
    result: list[list[Manifest]] = []
    pending = list(found)
    while pending:
        ready = [m for m in pending if all(dep in lane_of for dep in m.after)]
        if not ready:
            unknown = {dep for m in pending for dep in m.after if dep not in by_folder}
            raise ValueError(f"cyclic or unknown `after` in events/: {sorted(unknown) or [m.folder for m in pending]}")
        for manifest in ready:
            pending.remove(manifest)
            joined = {lane_of[dep] for dep in manifest.after}
            if len(joined) > 1:
                raise ValueError(f"{manifest.folder}: `after` names folders of different lanes: {manifest.after}")
            if joined:
                (index,) = joined
                result[index].append(manifest)
            else:
                index = len(result)
                result.append([manifest])
            lane_of[manifest.folder] = index
    return result


def plan(found: list[Manifest] | None = None) -> list[Invocation]:
    """Every invocation, lane after lane: one valid order for a single sequential run."""
    return [invocation for lane in lanes(found) for manifest in lane for invocation in manifest.invocations]


def listed_files(found: list[Manifest] | None = None) -> set[str]:
    return {invocation.name for invocation in plan(found)}


def mismatch(expected: Expected, answer: Any) -> str:
    """'' when `answer` is what `expected` promises, else what differs (for the report line)."""
    if isinstance(expected, int):
        status = answer.get("statusCode") if isinstance(answer, dict) else None
        if status == expected:
            return ""
        return f"expected status {expected}, got {status if status is not None else _short(answer)}"
    if answer == expected:
        return ""
    return f"expected {json.dumps(expected, sort_keys=True)}, got {_short(answer)}"


def describe(answer: Any) -> str:
    """What an answer was, in a few words: `201` for an API answer, else its JSON (shortened)."""
    if isinstance(answer, dict) and "statusCode" in answer:
        return str(answer["statusCode"])
    return _short(answer)


def _short(value: Any, limit: int = 200) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."
