"""Files with personal data on local disk: outputs and portraits 0640 in 0750 folders, temp files 0600,
and the temporary file of a killed writer removed by the next run of the same output."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from airflow_provider_tencent_ocr.io import storage
from airflow_provider_tencent_ocr.io.parquet import ParquetOutputWriter, output_schema
from airflow_provider_tencent_ocr.rows.postprocess import write_photo


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask():
    """The usual umask (022), under which files would be 0644 and folders 0755."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_output_is_0640_in_new_0750_folders_and_existing_folders_are_untouched(tmp_path, loose_umask):
    before = mode(tmp_path)
    out = tmp_path / "a" / "b" / "cards.parquet"
    with ParquetOutputWriter(str(out), output_schema()) as writer:
        writer.write_rows([{"record_id": "1", "status": "ok"}])
    assert mode(out) == 0o640
    assert mode(tmp_path / "a") == mode(tmp_path / "a" / "b") == 0o750
    assert mode(tmp_path) == before
    assert pq.read_table(out).num_rows == 1


def test_the_temp_file_is_private_while_rows_are_written(tmp_path, loose_umask):
    out = tmp_path / "cards.parquet"
    with ParquetOutputWriter(str(out), output_schema(), row_group_rows=1) as writer:
        writer.write_rows([{"record_id": "1", "status": "ok"}])  # one row group on disk already
        temps = list(tmp_path.glob(".cards.parquet.*.tmp"))
        assert len(temps) == 1 and mode(temps[0]) == 0o600
    assert not list(tmp_path.glob(".cards.parquet.*"))


def test_chosen_permissions(tmp_path, loose_umask):
    shared = tmp_path / "shared" / "cards.parquet"
    with ParquetOutputWriter(str(shared), output_schema(), permissions=storage.Permissions(0o644, 0o755)):
        pass
    assert (mode(shared), mode(shared.parent)) == (0o644, 0o755)
    strict = tmp_path / "strict" / "cards.parquet"
    with ParquetOutputWriter(str(strict), output_schema(), permissions=storage.PRIVATE):
        pass
    assert (mode(strict), mode(strict.parent)) == (0o600, 0o700)


def test_portrait_files_are_0640_in_a_0750_folder(tmp_path, loose_umask):
    path = Path(write_photo(b"\xff\xd8\xff portrait", str(tmp_path / "photos")))
    assert mode(path) == 0o640 and mode(path.parent) == 0o750


@pytest.mark.parametrize(
    ("file_mode", "dir_mode", "message"),
    [
        (0o440, 0o750, r"file_mode=0o440 leaves the owner without read and write"),
        (0o640, 0o640, r"dir_mode=0o640 leaves the owner without rwx"),
        (0o1777, 0o750, r"file_mode must be a permission number"),
        ("0640", 0o750, r"file_mode must be a permission number"),
    ],
)
def test_bad_modes_are_refused_naming_the_argument(file_mode, dir_mode, message):
    with pytest.raises(ValueError, match=message):
        storage.Permissions(file_mode, dir_mode)


def test_the_operator_checks_and_passes_its_modes(tmp_path):
    from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator

    with pytest.raises(ValueError, match="dir_mode"):
        TencentOcrSingaporeIdCardOperator(task_id="t", images=["/a.png"], output="/o.parquet", dir_mode=0o600)
    op = TencentOcrSingaporeIdCardOperator(task_id="t", images=["/a.png"], output="/o.parquet", file_mode=0o600)
    assert (op.file_mode, op.dir_mode) == (0o600, 0o750)


_WRITER = textwrap.dedent(
    """
    import sys, time
    from airflow_provider_tencent_ocr.io.parquet import ParquetOutputWriter, output_schema

    writer = ParquetOutputWriter(sys.argv[1], output_schema(), row_group_rows=1)
    writer.write_rows([{"record_id": "1", "status": "ok", "id_number": "S1234567D"}])
    print("written", flush=True)
    time.sleep(120)
    """
)


def _start_writer(out: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-c", _WRITER, str(out)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "written"
    return process


@pytest.mark.slow
def test_a_killed_writers_temp_file_is_removed_by_the_next_run_and_a_live_ones_is_not(tmp_path):
    out = tmp_path / "cards.parquet"
    killed = _start_writer(out)
    try:
        stale = list(tmp_path.glob(".cards.parquet.*.tmp"))
        assert len(stale) == 1 and mode(stale[0]) == 0o600  # private, though it holds personal data
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
    assert stale[0].exists()  # nothing could remove it at the kill

    live = _start_writer(tmp_path / "cards.parquet")
    try:
        live_temp = set(tmp_path.glob(".cards.parquet.*.tmp")) - set(stale)
        with ParquetOutputWriter(str(out), output_schema()) as writer:  # the rerun
            writer.write_rows([{"record_id": "1", "status": "ok"}])
        assert not stale[0].exists()  # its writer is dead: removed
        assert all(path.exists() for path in live_temp) and live_temp  # a running writer's is kept
        assert pq.read_table(out).num_rows == 1
    finally:
        live.send_signal(signal.SIGKILL)
        live.wait(timeout=30)
    # The live writer's file is now stale too: the next run removes it.
    with ParquetOutputWriter(str(out), output_schema()):
        pass
    assert not list(tmp_path.glob(".cards.parquet.*"))


@pytest.fixture
def memory_fs():
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    fs = MemoryFileSystem()
    attach("memory", fs=fs)
    return fs


def test_object_storage_temp_files_are_private_and_swept_by_object(tmp_path, monkeypatch, memory_fs):
    """An object-storage output is staged in the system temp folder: 0600, and swept by the next run."""
    import tempfile

    from airflow_provider_tencent_ocr.io.tempfiles import LockedTempFile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    uri = "memory://kyc/out/cards.parquet"
    stale = LockedTempFile(uri + "?X-Amz-Signature=old", local=False)  # a run signed differently...
    stale.release(remove=False)  # ...whose writer died without removing its file
    assert mode(Path(stale.path)) == 0o600
    with ParquetOutputWriter(uri, output_schema(), row_group_rows=1) as writer:
        writer.write_rows([{"record_id": "1", "status": "ok"}])
        assert writer._temp is not None and mode(Path(writer._temp.path)) == 0o600
        assert not Path(stale.path).exists()
    assert not list(tmp_path.iterdir())
