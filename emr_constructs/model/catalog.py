"""Bundled AWS catalogs: the known regions (by partition) and the known EC2 instance types.

Pure Python, no cdktf: the environment settings use it before the provider bindings load.
Both lists come from the AWS SDK's own service data (botocore): the regions from its
``endpoints.json`` partitions, the instance types from the EC2 API model's
``InstanceType`` enumeration. Each JSON file under ``emr_constructs/model/data/`` says which
botocore version it was read from and when. A region or type that AWS added after that
version is refused with a message that says how to refresh the list
(``python -m emr_constructs.model.catalog``, which reads the botocore installed in .venv).
"""

from __future__ import annotations

import datetime
import gzip
import json
import os
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
REGIONS_PATH = DATA_DIR / "regions.json"
INSTANCE_TYPES_PATH = DATA_DIR / "instance_types.json"
# Partitions whose regions environments may name (the isolated partitions need their own
# endpoints and are out of scope for this project).
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
COMMERCIAL = "aws"
REFRESH_COMMAND = ".venv/bin/python -m emr_constructs.model.catalog"


@cache
def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def regions_by_partition() -> dict[str, tuple[str, ...]]:
    doc = _load(REGIONS_PATH)
    return {p: tuple(doc["partitions"][p]) for p in PARTITIONS}


def known_regions() -> frozenset[str]:
    return frozenset(r for regions in regions_by_partition().values() for r in regions)


def commercial_regions() -> tuple[str, ...]:
    return regions_by_partition()[COMMERCIAL]


def partition_of(region: str) -> str | None:
    return next((p for p, regions in regions_by_partition().items() if region in regions), None)


def known_instance_types() -> frozenset[str]:
    return frozenset(_load(INSTANCE_TYPES_PATH)["instance_types"])


def catalog_source(path: Path) -> str:
    doc = _load(path)
    return f"{doc['source']}, read {doc['retrieved']}"


def refresh(data_dir: Path = DATA_DIR) -> tuple[Path, Path]:
    """Rewrite both lists from the botocore installed in this environment."""
    import botocore

    base = Path(botocore.__file__).resolve().parent / "data"
    today = datetime.date.today().isoformat()
    endpoints = json.loads((base / "endpoints.json").read_text(encoding="utf-8"))
    partitions = {p["partition"]: sorted(p["regions"]) for p in endpoints["partitions"] if p["partition"] in PARTITIONS}
    model_dir = sorted((base / "ec2").iterdir())[-1]
    model_path = model_dir / "service-2.json"
    if model_path.exists():
        model = json.loads(model_path.read_text(encoding="utf-8"))
    else:
        with gzip.open(f"{model_path}.gz", "rt", encoding="utf-8") as fh:
            model = json.load(fh)
    types = sorted(set(model["shapes"]["InstanceType"]["enum"]))
    version = botocore.__version__
    written = []
    for path, doc in (
        (
            data_dir / "regions.json",
            {
                "source": f"botocore {version} data/endpoints.json (partitions {', '.join(PARTITIONS)})",
                "retrieved": today,
                "partitions": partitions,
            },
        ),
        (
            data_dir / "instance_types.json",
            {
                "source": f"botocore {version} data/ec2/{model_dir.name}/service-2.json, shape InstanceType",
                "retrieved": today,
                "instance_types": types,
            },
        ),
    ):
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        written.append(path)
    _load.cache_clear()
    return written[0], written[1]


if __name__ == "__main__":
    for written_path in refresh():
        print(f"wrote {written_path}: {catalog_source(written_path)}")
