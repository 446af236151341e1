"""The twin's strict record mapping is InvenioRDM's: the `metadata` fields its indexer accepts.

A rebuild under the real mapping refuses a document with a field it does not map (the drill's
`legacy-metadata-unmapped` fault); the twin must refuse exactly the same fields, no more, no less.
"""

from __future__ import annotations

import json
from pathlib import Path

import invenio_build

from twin.search import MAPPED_METADATA


def test_twin_maps_the_metadata_fields_of_invenios_newest_record_mapping(build_dir: Path) -> None:
    site = sorted((invenio_build.venv() / "lib").glob("python3*/site-packages/invenio_rdm_records"))
    assert site, f"invenio_rdm_records is not installed in {invenio_build.venv()}"
    mappings = site[0] / "records" / "mappings" / "os-v2" / "rdmrecords"
    for kind in ("records", "drafts"):
        files = sorted(
            (mappings / kind).glob("*-v*.json"),
            key=lambda p: tuple(int(n) for n in p.stem.rsplit("-v", 1)[1].split(".")),
        )
        assert files, f"no {kind} mapping under {mappings}"
        mapping = json.loads(files[-1].read_text())["mappings"]
        assert mapping.get("dynamic") == "strict", f"{files[-1].name} is not strict"
        real = set(mapping["properties"]["metadata"]["properties"])
        twin = set(MAPPED_METADATA[kind])
        assert real == twin, f"{files[-1].name}: {sorted(real ^ twin)} differ"
