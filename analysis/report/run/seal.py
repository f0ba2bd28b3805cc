"""The manifest's own content, sealed: what ``exodus verify`` checks besides the files.

``outputs`` in ``manifest.json`` pins every other file of a version, but the manifest itself is
read too: the landing page (``reports/index.html``) shows its ``answer``, the index its
``headline``, the compare widget its ``parameters``.  So every field is covered as well:

- :func:`seal` computes the SHA-256 of the canonical JSON (RFC 8785 in spirit: sorted keys, no
  whitespace, UTF-8, no NaN) of every top-level field and of every key of a top-level object
  (``answer.paragraphs``), stored under :data:`SEAL_KEY` when the manifest is written;
- :func:`seal_problems` recomputes them and names each field that was changed, added or
  removed, and checks that ``version_hash`` is the hash of the manifest's own ``parameters``,
  ``inputs`` and ``code_fingerprint`` (:func:`version_hash`) and appears in the version id.

This detects edits of a manifest; it is not a signature (no secret key): someone who rewrites
a field *and* its seal consistently is not detected.  That limit is stated in ``docs/hardening.md``.
"""

from __future__ import annotations

import hashlib
import json

SEAL_KEY = "content_sha256"


def canonical(value: object) -> bytes:
    """The canonical JSON bytes of ``value`` (sorted keys, compact, UTF-8, finite numbers only)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _sha(value: object) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def version_hash(values: dict, inputs: dict[str, str], fingerprint: str) -> str:
    """SHA-256 of what determines the results: parameters, input hashes, code fingerprint."""
    blob = json.dumps({"parameters": values, "inputs": inputs, "code": fingerprint}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def seal(manifest: dict) -> dict[str, str]:
    """Field path -> SHA-256 of its canonical JSON, for every top-level field (except the seal)
    and every key of a top-level object."""
    out: dict[str, str] = {}
    for key, value in manifest.items():
        if key == SEAL_KEY:
            continue
        out[key] = _sha(value)
        if isinstance(value, dict):
            out.update({f"{key}.{sub}": _sha(v) for sub, v in value.items()})
    return out


def _recorded_hash(manifest: dict) -> list[str]:
    """The version hash must be recomputable from the manifest's own inputs of the hash."""
    try:
        inputs = {i["name"]: i["sha256"] for i in manifest["inputs"]}
        want = version_hash(manifest["parameters"], inputs, manifest["code_fingerprint"])
    except (KeyError, TypeError):
        return []  # not a run's manifest (no parameters/inputs/code): the seal alone covers it
    problems = []
    if manifest.get("version_hash") != want:
        problems.append(f"manifest field version_hash: {str(manifest.get('version_hash'))[:16]}... is not the hash of "
                        f"the manifest's parameters, inputs and code_fingerprint ({want[:16]}...)")
    elif want[:12] not in str(manifest.get("version", "")):
        problems.append(f"manifest field version: {manifest.get('version')!r} does not carry the version hash {want[:12]}")
    return problems


def seal_problems(manifest: dict) -> list[str]:
    """One line per manifest field that differs from the seal written with it (changed, added
    or removed), naming the field; the deepest differing path is named (``answer.paragraphs``)."""
    recorded = manifest.get(SEAL_KEY)
    if not isinstance(recorded, dict):
        return [f"manifest.json has no {SEAL_KEY} seal: its fields (answer, headline, parameters, ...) are not covered"]
    now = seal(manifest)
    changed = sorted(k for k in set(now) | set(recorded) if now.get(k) != recorded.get(k))
    problems = []
    for key in changed:
        if any(other.startswith(key + ".") for other in changed):
            continue  # a sub-field is named instead
        what = ("added after publication" if key not in recorded else "removed" if key not in now
                else "changed since publication")
        problems.append(f"manifest field {key}: {what} (sha256 {str(now.get(key, '-'))[:16]}... vs sealed "
                        f"{str(recorded.get(key, '-'))[:16]}...)")
    return problems + _recorded_hash(manifest)
