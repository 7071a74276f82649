"""Is the event catalogue still readable by the subscribers of the last release?

    python -m shared.contracts.compat --check            # exit 1 on a breaking change
    python -m shared.contracts.compat --release 2026.12  # record this catalogue as released
    python -m shared.contracts.compat --release NAME --from-dir DIR  # a released docs/events/

The released catalogue is kept in ``docs/contracts/released.json``: every published JSON
Schema (``docs/events/``) of the last release. A subscriber built against it must be able to
read whatever the code now writes under the same (type, version). The rule, per schema: every
value a new writer may send, an old reader accepts (readers ignore fields they do not know,
docs/compatibility.md). So these are fine: a new event type or version, a new optional field,
a tighter limit, a documented meaning. These are breaking and need a new version with an
upcaster from the old one: a removed event version, a removed field, a field no longer always
sent, a new required field, a changed type or format, a new enum value, a looser limit. A
version above 1 without an upcaster from the one before is reported too.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.contracts.registry import REGISTRY, EventRegistry

RELEASED = Path(__file__).resolve().parents[2] / "docs" / "contracts" / "released.json"

READERS_NOTE = (
    "Readers ignore fields they do not know: a later release may add optional fields to this "
    "version (docs/compatibility.md). Writers never send a field the schema does not declare."
)

Schema = Mapping[str, Any]

# Keywords that limit what a value may be: a later writer may only tighten them.
_UPPER = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
_LOWER = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
_EXACT = ("type", "format", "pattern", "const")


def published(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON Schema as readers get it: ``additionalProperties: false`` (the
    writers' strictness) removed at every depth, and the readers' rule stated."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: walk(value)
                for key, value in node.items()
                if not (key == "additionalProperties" and value is False)
            }
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    result: dict[str, Any] = walk(schema)
    result["x-suxing-readers"] = READERS_NOTE
    return result


def catalogue(registry: EventRegistry = REGISTRY) -> dict[str, dict[str, Any]]:
    """Every published schema of the code's catalogue, by file name (``Type.vN.schema.json``
    and ``envelope.schema.json``)."""
    from shared.contracts.catalogue import render

    return {
        name: json.loads(content)
        for name, content in render(registry).items()
        if name.endswith(".schema.json")
    }


def breaking_changes(
    released: Mapping[str, Schema],
    current: Mapping[str, Schema],
    registry: EventRegistry | None = None,
) -> list[str]:
    """What a subscriber of ``released`` could not read in ``current``, one line each."""
    problems: list[str] = []
    for name in sorted(released):
        label = name.removesuffix(".schema.json")
        if name not in current:
            problems.append(f"{label}: removed (a published version stays in the catalogue)")
            continue
        old, new = released[name], current[name]
        problems += [
            f"{label}: {line}"
            for line in _compare(old, new, old, new, "data" if label != "envelope" else "")
        ]
    if registry is not None:
        problems += missing_upcasters(registry)
    return problems


def missing_upcasters(registry: EventRegistry) -> list[str]:
    """Each version above 1 needs an upcaster from the version before it."""
    problems = []
    for type_name, version, _ in registry.types():
        if version > 1 and not registry.has_upcaster(type_name, version - 1):
            problems.append(
                f"{type_name}.v{version}: no upcaster from v{version - 1} "
                f"(stored v{version - 1} events could not be read)"
            )
    return problems


def _resolve(node: Schema, root: Schema) -> Schema:
    seen = 0
    while "$ref" in node and seen < 32:
        ref = str(node["$ref"])
        if not ref.startswith("#/"):
            return node
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
        seen += 1
    if "allOf" in node and len(node["allOf"]) == 1:  # pydantic wraps a ref with a default
        merged = {k: v for k, v in node.items() if k != "allOf"}
        return {**_resolve(node["allOf"][0], root), **merged}
    return node


def _alternatives(node: Schema) -> list[Schema]:
    for key in ("anyOf", "oneOf"):
        if key in node:
            return list(node[key])
    return [node]


def _compare(
    old: Schema, new: Schema, old_root: Schema, new_root: Schema, path: str
) -> Iterator[str]:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    where = path or "(top)"
    old_alts, new_alts = _alternatives(old), _alternatives(new)
    if len(old_alts) > 1 or len(new_alts) > 1:
        # Every shape the new writer may send must be one an old reader accepts.
        for alt in (_resolve(a, new_root) for a in new_alts):
            candidates = [_resolve(o, old_root) for o in old_alts]
            if not any(_same_kind(o, alt) for o in candidates):
                yield f"{where}: may now be {_describe(alt)}, which readers do not accept"
                continue
            match = next(o for o in candidates if _same_kind(o, alt))
            yield from _compare(match, alt, old_root, new_root, path)
        return
    for key in _EXACT:  # absent in the old schema: any value was accepted, so it narrows
        if key in old and new.get(key) != old[key]:
            yield f"{where}: {key} changed from {old[key]!r} to {new.get(key)!r}"
    if "enum" in old:
        added = [v for v in new.get("enum", []) if v not in old["enum"]]
        if "enum" not in new:
            yield f"{where}: enum {old['enum']} became any value"
        elif added:
            yield f"{where}: new enum values {added} (readers refuse values they do not know)"
    for key in _UPPER:
        if key in old and (key not in new or new[key] > old[key]):
            yield f"{where}: {key} loosened from {old[key]!r} to {new.get(key)!r}"
    for key in _LOWER:
        if key in old and (key not in new or new[key] < old[key]):
            yield f"{where}: {key} loosened from {old[key]!r} to {new.get(key)!r}"
    if "items" in old and "items" in new:
        yield from _compare(old["items"], new["items"], old_root, new_root, f"{path}[]")
    old_values, new_values = old.get("additionalProperties"), new.get("additionalProperties")
    if isinstance(old_values, dict) and isinstance(new_values, dict):  # a map's values
        yield from _compare(old_values, new_values, old_root, new_root, f"{path}{{}}")
    old_props: Mapping[str, Schema] = old.get("properties", {})
    new_props: Mapping[str, Schema] = new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for field in sorted(old_props):
        child = f"{path}.{field}" if path else field
        if field not in new_props:
            yield f"{child}: removed"
            continue
        if field in old_required and field not in new_required:
            yield f"{child}: no longer required (readers expect it in every event)"
        yield from _compare(old_props[field], new_props[field], old_root, new_root, child)
    for field in sorted(set(new_props) - set(old_props)):
        if field in new_required:
            child = f"{path}.{field}" if path else field
            yield f"{child}: new required field (stored events of this version lack it)"


def _same_kind(a: Schema, b: Schema) -> bool:
    return a.get("type") == b.get("type") and a.get("format") == b.get("format")


def _describe(node: Schema) -> str:
    kind = str(node.get("type", "any"))
    return f"{kind} ({node['format']})" if "format" in node else kind


def load_released(path: Path = RELEASED) -> dict[str, Any]:
    return dict(json.loads(path.read_text("utf-8")))


def release(
    name: str,
    path: Path = RELEASED,
    registry: EventRegistry = REGISTRY,
    source: Path | None = None,
) -> None:
    """Record the code's catalogue (or the ``*.schema.json`` files of ``source``, e.g. a
    checkout of the released commit's docs/events/) as the released one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    schemas = (
        {p.name: json.loads(p.read_text("utf-8")) for p in sorted(source.glob("*.schema.json"))}
        if source is not None
        else catalogue(registry)
    )
    document = {
        "release": name,
        "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "schemas": schemas,
    }
    text = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    path.write_text(text, "utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--check", action="store_true", help="compare with the last release")
    group.add_argument("--release", metavar="NAME", help="record this catalogue as released")
    parser.add_argument(
        "--from-dir",
        type=Path,
        help="with --release: record the schemas in this folder (a released docs/events/)",
    )
    args = parser.parse_args(argv)
    if args.release:
        release(args.release, source=args.from_dir)
        print(f"recorded release {args.release} in {RELEASED}")
        return 0
    if not RELEASED.exists():
        print(f"no released catalogue at {RELEASED}: record one with --release NAME")
        return 1
    document = load_released()
    problems = breaking_changes(document["schemas"], catalogue(), REGISTRY)
    for line in problems:
        print(f"breaking: {line}")
    if problems:
        print(
            f"{len(problems)} breaking change(s) against release {document['release']}: "
            "register a new version with an upcaster from the old one "
            "(docs/compatibility.md), or undo the change"
        )
        return 1
    print(f"compatible with release {document['release']} ({len(document['schemas'])} schemas)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
