"""The reviewable form of a synthesized stack, used by the snapshot tests.

A raw ``cdk.tf.json`` is hard to review: cdktf adds a ``//`` metadata block (construct
path, unique id) to every resource, and IAM policies, bucket policies and EMR
configurations sit in it as one-line JSON strings (the instance policy alone runs to
thousands of characters). ``normalize`` turns a stack into what a reviewer reads:

* every ``//`` block is dropped (it carries no Terraform meaning);
* every embedded JSON document is parsed and shown as a structure under one key that
  records how it was written: ``{"json:compact": ...}`` (``,`` and ``:``) or
  ``{"json:spaced": ...}`` (``, `` and ``: ``). A new grant then reads as one added
  statement in a pull request instead of a changed 2,000-character line.

Nothing else is lost: ``denormalize`` rebuilds the exact strings, because a string is
only unwrapped when re-encoding it (sorted keys, the recorded separators) gives back the
very same text; any other string stays as it is. And cdktf writes ``cdk.tf.json`` as a
pure function of its content (keys sorted, two-space indent; ``render_like_cdktf``), so a
snapshot pins every byte of the synthesized file outside the ``//`` blocks.
"""

from __future__ import annotations

import json
from typing import Any

METADATA_KEY = "//"
EMBEDDED_STYLES = {"json:compact": (",", ":"), "json:spaced": (", ", ": ")}


def _encode(doc: Any, separators: tuple[str, str]) -> str:
    return json.dumps(doc, sort_keys=True, separators=separators, ensure_ascii=False)


def _unwrap(text: str) -> Any:
    if not text.startswith(("{", "[")):
        return text
    try:
        doc = json.loads(text)
    except ValueError:
        return text
    for style, separators in EMBEDDED_STYLES.items():
        if _encode(doc, separators) == text:
            return {style: doc}
    return text


def normalize(node: Any) -> Any:
    """The reviewable form: no ``//`` metadata, embedded JSON parsed (see module docstring)."""
    if isinstance(node, dict):
        return {key: normalize(value) for key, value in node.items() if key != METADATA_KEY}
    if isinstance(node, list):
        return [normalize(item) for item in node]
    if isinstance(node, str):
        return _unwrap(node)
    return node


def denormalize(node: Any) -> Any:
    """The synthesized content ``normalize`` came from, minus the ``//`` metadata."""
    if isinstance(node, dict):
        if len(node) == 1:
            ((key, value),) = node.items()
            if key in EMBEDDED_STYLES:
                return _encode(value, EMBEDDED_STYLES[key])
        return {key: denormalize(value) for key, value in node.items()}
    if isinstance(node, list):
        return [denormalize(item) for item in node]
    return node


def strip_metadata(node: Any) -> Any:
    """The content with every ``//`` block removed and nothing else changed."""
    if isinstance(node, dict):
        return {key: strip_metadata(value) for key, value in node.items() if key != METADATA_KEY}
    if isinstance(node, list):
        return [strip_metadata(item) for item in node]
    return node


def render_like_cdktf(node: Any, level: int = 0, *, compact_empty: bool = False) -> str:
    """The text cdktf writes for ``node`` (json-stable-stringify with two-space indent:
    keys sorted, empty objects and lists opened on one line and closed on the next, no
    final newline). ``compact_empty``: CDK Terrain's form, the same but with ``{}`` and
    ``[]`` for empty objects and lists (it writes with safe-stable-stringify)."""
    indent = "\n" + "  " * level
    if isinstance(node, (dict, list)) and not node and compact_empty:
        return "{}" if isinstance(node, dict) else "[]"
    if isinstance(node, dict):
        items = [
            f"{indent}  {json.dumps(key, ensure_ascii=False)}: "
            + render_like_cdktf(node[key], level + 1, compact_empty=compact_empty)
            for key in sorted(node)
        ]
        return "{" + ",".join(items) + indent + "}"
    if isinstance(node, list):
        items = [f"{indent}  {render_like_cdktf(item, level + 1, compact_empty=compact_empty)}" for item in node]
        return "[" + ",".join(items) + indent + "]"
    return json.dumps(node, ensure_ascii=False)
