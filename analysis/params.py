"""Notebook parameters: read them from the ``parameters`` cells, list them, validate overrides.

Each notebook declares its parameters in a cell tagged ``parameters`` (papermill's
convention), one per line: ``name = <python literal>  # help text``.  The literal's type is the
parameter's type.  ``exodus params`` lists them; ``exodus run -p name=value`` is validated
against them before anything runs.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from analysis.errors import ParameterError

INTERNAL = frozenset({"output_dir"})  # set by the runner, not by users


@dataclass
class ParamSpec:
    name: str
    type: str  # "int" | "float" | "str" | "bool" | "list[str]" | "list[int]" | "list[float]"
    default: object
    help: str
    notebooks: list[str] = field(default_factory=list)


def _type_of(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, list):
        inner = {_type_of(v) for v in value} or {"str"}
        if len(inner) != 1:
            raise ValueError(f"mixed list types {inner}")
        return f"list[{inner.pop()}]"
    return type(value).__name__


def parameters_cell(nb_path: Path) -> str:
    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return cell.source
    raise ParameterError(f"{nb_path}: no cell tagged 'parameters'")


def parse_parameters(source: str, where: str = "<cell>") -> list[ParamSpec]:
    """Parse ``name = literal  # help`` lines of a parameters cell."""
    specs = []
    lines = source.splitlines()
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise ParameterError(f"{where}: line {node.lineno}: parameters must be simple 'name = literal' assignments")
        name = node.targets[0].id
        value = ast.literal_eval(node.value)
        line = lines[node.lineno - 1]
        help_text = line.split("#", 1)[1].strip() if "#" in line else ""
        specs.append(ParamSpec(name, _type_of(value), value, help_text))
    return specs


def collect(notebooks: list[Path]) -> dict[str, ParamSpec]:
    """All parameters of ``notebooks``; a name shared by notebooks must agree on type and default."""
    out: dict[str, ParamSpec] = {}
    for nb in notebooks:
        for spec in parse_parameters(parameters_cell(nb), where=str(nb)):
            if spec.name in out:
                prev = out[spec.name]
                if (prev.type, prev.default) != (spec.type, spec.default):
                    raise ParameterError(
                        f"parameter {spec.name!r} differs between {prev.notebooks[0]} and {nb.name}"
                    )
                prev.notebooks.append(nb.name)
            else:
                spec.notebooks = [nb.name]
                out[spec.name] = spec
    return out


def _convert(text: str, type_: str, name: str) -> object:
    def scalar(t: str, v: str) -> object:
        if t == "str":
            return v
        if t == "int":
            return int(v)
        if t == "float":
            return float(v)
        if t == "bool":
            low = v.strip().lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no"):
                return False
            raise ValueError(v)
        raise ValueError(f"unsupported type {t}")

    try:
        if type_.startswith("list["):
            inner = type_[5:-1]
            stripped = text.strip()
            if stripped.startswith("["):
                items = json.loads(stripped)
                if not isinstance(items, list):
                    raise ValueError(text)
                items = [str(i) if inner == "str" else i for i in items]
            else:
                items = [s.strip() for s in stripped.split(",") if s.strip()]
            return [scalar(inner, str(i)) for i in items]
        return scalar(type_, text)
    except (ValueError, json.JSONDecodeError):
        raise ParameterError(
            f"parameter {name!r} expects {type_}, got {text!r}"
            + (" (give a comma-separated list or a JSON list)" if type_.startswith("list") else "")
        ) from None


def describe(specs: dict[str, ParamSpec]) -> str:
    return "; ".join(f"{s.name} ({s.type})" for s in specs.values() if s.name not in INTERNAL)


def resolve(specs: dict[str, ParamSpec], overrides: dict[str, str], study_defaults: dict | None = None) -> dict:
    """Defaults, then study defaults, then ``-p`` overrides (converted to each parameter's type)."""
    values = {n: s.default for n, s in specs.items() if n not in INTERNAL}
    for name, value in (study_defaults or {}).items():
        if name in values:
            values[name] = value
    for name, text in overrides.items():
        if name not in values:
            raise ParameterError(f"unknown parameter {name!r}. Valid parameters: {describe(specs)}")
        values[name] = _convert(text, specs[name].type, name)
    return values


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``["a=1", "b=x,y"]`` -> ``{"a": "1", "b": "x,y"}``."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ParameterError(f"parameter {item!r} must look like name=value")
        name, value = item.split("=", 1)
        out[name.strip()] = value
    return out
