"""Import tests write their lists into tmp_path and run the real command end to end."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    # Rejects files land under DATA_DIR; keep them inside the test's own directory.
    settings.DATA_DIR = tmp_path / "data"
    settings.PHONE_REGION = "US"


@pytest.fixture
def write_list(tmp_path):
    """`write_list(text, encoding="utf-8", name="list.csv")`: a file made by the test."""

    def write(text: str | bytes, *, encoding: str = "utf-8", name: str = "list.csv") -> Path:
        path = tmp_path / name
        data = text if isinstance(text, bytes) else text.encode(encoding)
        path.write_bytes(data)
        return path

    return write


@pytest.fixture
def run_json():
    """`run_json(command, *args)`: what `leadflow COMMAND ARGS --format json` prints, parsed."""

    def run(command: str, *args: str) -> dict:
        out = StringIO()
        call_command(command, *args, "--format", "json", stdout=out)
        return json.loads(out.getvalue())

    return run


@pytest.fixture
def run_kind(run_json):
    """`run_kind(path, kind, *args)`: the JSON report of `leadflow import PATH --kind KIND`."""
    return lambda path, kind, *args: run_json("import", str(path), "--kind", kind, *args)


@pytest.fixture
def run_import(run_kind):
    """`run_import(path, *args)`: the JSON report of `leadflow import PATH --kind contacts`."""
    return lambda path, *args: run_kind(path, "contacts", *args)
