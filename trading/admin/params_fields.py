"""An intent's parameter schema as form fields, so people fill in fields rather than write a Python dict.

`params_form_fields(schema)` turns the JSON schema of an intent's Params (pydantic's, by alias) into
Django form fields named `param_<alias>`; `params_from_form(schema, cleaned_data)` gives back the dict
the submission path validates. Only the shapes our intents use are mapped (integer, number, boolean,
string, string enum, list of strings, each optionally null); anything else is a text field whose value
is passed through, and the intent's schema (pydantic) stays the judge of every value.
"""

from __future__ import annotations

import re

from django import forms

PREFIX = "param_"


def _unwrap(prop: dict) -> tuple[dict, bool]:
    """`anyOf: [X, null]` -> (X, nullable)."""
    options = prop.get("anyOf")
    if not options:
        return prop, False
    real = [option for option in options if option.get("type") != "null"]
    return (real[0] if len(real) == 1 else {}), len(real) < len(options)


def _help(prop: dict, shape: dict) -> str:
    parts = [prop.get("description", "")]
    if shape.get("type") == "array":
        parts.append("Separate several with commas or spaces.")
    if prop.get("default") not in (None, [], ""):
        parts.append(f"Blank: {prop['default']}.")
    elif "default" in prop:
        parts.append("Blank: not set.")
    return " ".join(part for part in parts if part)


def _label(name: str) -> str:
    """'freshMinutes' / 'limit_price' -> 'Fresh minutes' / 'Limit price' (pydantic's titles read 'Freshminutes')."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").capitalize()


def _field(name: str, prop: dict, required: bool) -> forms.Field:
    shape, _nullable = _unwrap(prop)
    kind = shape.get("type")
    common = {"required": required, "help_text": _help(prop, shape), "label": _label(name)}
    if "enum" in shape:
        choices = [(value, value) for value in shape["enum"]]
        return forms.ChoiceField(choices=([] if required else [("", "—")]) + choices, **common)
    if kind == "integer":
        low = shape.get("minimum", shape["exclusiveMinimum"] + 1 if "exclusiveMinimum" in shape else None)
        return forms.IntegerField(min_value=low, max_value=shape.get("maximum"), **common)
    if kind == "number":
        return forms.DecimalField(**common)
    if kind == "boolean":
        common["required"] = False  # an unticked box is False, never "missing"
        return forms.BooleanField(initial=prop.get("default", False), **common)
    if kind == "array":
        return forms.CharField(max_length=1000, **common)
    return forms.CharField(max_length=200, **common)


def params_form_fields(schema: dict) -> dict[str, forms.Field]:
    required = set(schema.get("required", []))
    return {PREFIX + name: _field(name, prop, name in required) for name, prop in schema.get("properties", {}).items()}


def params_from_form(schema: dict, data: dict) -> dict:
    """The parameters a person filled in (blank fields left out, so the intent's defaults apply)."""
    params = {}
    for name, prop in schema.get("properties", {}).items():
        value = data.get(PREFIX + name)
        shape, _ = _unwrap(prop)
        if shape.get("type") == "boolean":
            if value != prop.get("default", False):
                params[name] = bool(value)
            continue
        if value in (None, ""):
            continue
        if shape.get("type") == "array":
            params[name] = [item for item in re.split(r"[\s,]+", value.strip()) if item]
        elif shape.get("type") == "number":
            params[name] = float(value)
        else:
            params[name] = value
    return params


def params_initial(schema: dict, params: dict) -> dict:
    """Form initial values from stored parameters (a schedule being edited)."""
    initial = {}
    for name, prop in schema.get("properties", {}).items():
        value = params.get(name, prop.get("default"))
        if isinstance(value, list):
            value = ", ".join(map(str, value))
        initial[PREFIX + name] = value
    return initial


def params_field_name(loc: list) -> str | None:
    """The form field a pydantic error location points at (its first part), if there is one."""
    return PREFIX + str(loc[0]) if loc else None
