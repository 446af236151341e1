"""Scrub written evidence files: pytest-html's JSON blob (with base64 extras) and JUnit XML.

Redaction happens once, where evidence is written (STYLE.md); this is that place for the files
other plugins wrote before we could see their text.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from recovery.redaction import scrub, scrub_data
from recovery.secrets import MASK, known_secrets

_JSONBLOB = re.compile(r'(data-jsonblob=")([^"]*)(")')
_DATA_URI = re.compile(
    r"^data:(?P<mime>[\w.+\-]+/[\w.+\-]+)(?P<params>(?:;[\w\-]+=[\w\-]+)*);base64,(?P<b64>.*)$", re.S
)


def scrub_data_uris(value: Any) -> Any:
    """Self-contained pytest-html stores text/JSON extras as base64 data URIs: scrub inside them."""
    if isinstance(value, str):
        match = _DATA_URI.match(value)
        if match and (match["mime"].startswith("text/") or match["mime"].endswith("json")):
            try:
                decoded = base64.b64decode(match["b64"], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return value
            encoded = base64.b64encode(scrub(decoded).encode("utf-8")).decode("ascii")
            return f"data:{match['mime']}{match['params']};base64,{encoded}"
        return value
    if isinstance(value, dict):
        return {k: scrub_data_uris(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_data_uris(v) for v in value]
    return value


def scrub_html(text: str) -> str:
    def blob(match: re.Match[str]) -> str:
        try:
            data = json.loads(html.unescape(match[2]))
        except ValueError:
            return match[0]
        clean = scrub_data_uris(scrub_data(data))
        return match[1] + html.escape(json.dumps(clean), quote=True) + match[3]

    text = _JSONBLOB.sub(blob, text)
    for secret in known_secrets():
        text = text.replace(html.escape(secret, quote=True), MASK)
    return scrub(text)


def scrub_junit(path: Path) -> None:
    try:
        tree = ET.parse(path)
    except ET.ParseError:
        path.write_text(scrub(path.read_text(encoding="utf-8")), encoding="utf-8")
        return
    for element in tree.iter():
        if element.text:
            element.text = scrub(element.text)
        if element.tail:
            element.tail = scrub(element.tail)
        for key, value in element.attrib.items():
            element.set(key, scrub(value))
    tree.write(path, encoding="utf-8", xml_declaration=True)


def add_junit_properties(path: Path, properties: dict[str, str]) -> None:
    """Run-level <properties> on the testsuite (outcome, not-checked list): CI tools show them."""
    try:
        tree = ET.parse(path)
    except ET.ParseError:
        return
    root = tree.getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        return
    props = suite.find("properties")
    if props is None:
        props = ET.Element("properties")
        suite.insert(0, props)
    for name, value in properties.items():
        ET.SubElement(props, "property", name=name, value=scrub(value))
    tree.write(path, encoding="utf-8", xml_declaration=True)
