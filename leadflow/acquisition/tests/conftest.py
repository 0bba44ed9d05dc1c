"""Import tests write their lists into tmp_path and run the real command end to end."""

import json
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
def run_kind():
    """`run_kind(path, kind, *args)`: the JSON report of `leadflow import PATH --kind KIND`."""

    def run(path: Path, kind: str, *args: str) -> dict:
        out = []

        class Sink:
            def write(self, text: str) -> None:
                out.append(text)

            def flush(self) -> None:
                pass

        call_command("import", str(path), "--kind", kind, *args, "--format", "json", stdout=Sink())
        return json.loads("".join(out))

    return run


@pytest.fixture
def run_import(run_kind):
    """`run_import(path, *args)`: the JSON report of `leadflow import PATH --kind contacts`."""
    return lambda path, *args: run_kind(path, "contacts", *args)
