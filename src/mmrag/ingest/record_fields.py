"""The index's registry of record fields, and ``--where`` checks against it.

The index metadata keeps, per source that has fields (a catalogue, a page
with tables), the fields' types::

    "records": {"/data/catalogue.csv": {"hash": "<file hash>", "fields": {"price": "number", ...}}}

``check_where`` lets users write bare field names (``price < 50``): names the
index knows as fields become ``fields.price`` for the stores, and a literal
of the wrong type (``price < 'cheap'``, ``brand = 5``) is refused with the
fix, instead of silently matching nothing. A name that is neither a column
nor a field fails as an unknown column, listing the fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mmrag.errors import FilterError
from mmrag.stores.base import VectorStore
from mmrag.stores.filter_parse import And, Cmp, In, Like, Node, Not, Or, field_of, parse, qualify_fields

META_KEY = "records"


def known_fields(meta: Mapping[str, Any] | None) -> dict[str, str]:
    """``{field: type}`` over every source; a name with two types is ``mixed``."""
    out: dict[str, str] = {}
    for entry in (meta or {}).get(META_KEY, {}).values():
        if not isinstance(entry, Mapping):
            continue
        for name, kind in dict(entry.get("fields", {})).items():
            out[name] = kind if out.get(name, kind) == kind else "mixed"
    return out


def remember_fields(store: VectorStore, source: str, types: Mapping[str, str], digest: str = "") -> None:
    """Record ``source``'s field types (and, for a record file, its hash) in the index metadata."""
    meta = dict(store.read_meta() or {})
    records = dict(meta.get(META_KEY, {}))
    old = records.get(source)
    entry = {"hash": digest, "fields": dict(types)}
    if old == entry:
        return
    records[source] = entry
    meta[META_KEY] = records
    store.write_meta(meta)


def add_fields(store: VectorStore, sources: Iterable[str], types: Mapping[str, str]) -> None:
    """Add ``types`` to the fields of each of ``sources`` (keeping what they had, and a record file's hash):
    fields written after ingest, such as ``mmrag classify --label-index``'s ``label``."""
    meta = dict(store.read_meta() or {})
    records = dict(meta.get(META_KEY, {}))
    changed = False
    for source in sources:
        found = records.get(source)
        old: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        entry = {"hash": str(old.get("hash", "")), "fields": dict(old.get("fields", {})) | dict(types)}
        if entry != old:
            records[source], changed = entry, True
    if changed:
        meta[META_KEY] = records
        store.write_meta(meta)


def forget_records(store: VectorStore, sources: Iterable[str]) -> None:
    meta = dict(store.read_meta() or {})
    records = dict(meta.get(META_KEY, {}))
    gone = [s for s in sources if s in records]
    if not gone:
        return
    for s in gone:
        del records[s]
    meta[META_KEY] = records
    store.write_meta(meta)


def _nodes(node: Node) -> Iterable[Cmp | Like | In]:
    if isinstance(node, (And, Or)):
        for item in node.items:
            yield from _nodes(item)
    elif isinstance(node, Not):
        yield from _nodes(node.item)
    else:
        yield node


def check_where(where: str | None, fields: Mapping[str, str]) -> str | None:
    """``where`` with bare field names qualified; ``FilterError`` for a wrong-typed literal or an unknown name."""
    if where is None or not where.strip():
        return where
    qualified = qualify_fields(where, set(fields))
    try:
        node = parse(qualified)
    except FilterError as exc:
        if fields and "unknown column" in str(exc):
            listed = ", ".join(f"{k} ({v})" for k, v in sorted(fields.items())[:40])
            raise FilterError(f"{exc}\nRecord fields in this index: {listed}.") from None
        raise
    for leaf in _nodes(node):
        name = field_of(leaf.column)
        if name is None:
            continue
        kind = fields.get(name, "mixed")
        if isinstance(leaf, Like):
            if kind == "number":
                raise FilterError(f"'{name}' holds numbers; LIKE needs text. Compare it: {name} < 50.")
            continue
        values = (leaf.value,) if isinstance(leaf, Cmp) else leaf.values
        for value in values:
            if kind == "number" and isinstance(value, str):
                raise FilterError(f"'{name}' holds numbers; compare it to a number without quotes, e.g. {name} < 50.")
            if kind in ("text", "link", "date", "bool") and not isinstance(value, str):
                example = {"date": "'2024-05-01'", "bool": "'yes'"}.get(kind, f"'{value}'")
                raise FilterError(f"'{name}' holds {kind} values; quote the value, e.g. {name} = {example}.")
    return qualified


__all__ = ["META_KEY", "add_fields", "check_where", "forget_records", "known_fields", "remember_fields"]
