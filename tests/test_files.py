"""Paths checked before TensorFlow loads: missing, a folder for a file, not a regular file,
empty, misnamed, or bytes that are not the named format; one line naming key and fix."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from seqexp.data.files import check_path
from seqexp.errors import SeqexpError


def write_tar_gz(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        data = b"a fine film"
        info = tarfile.TarInfo("aclImdb/train/pos/0_9.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def files(tmp_path):
    """Good and bad files in the formats the loaders read."""
    f = {}
    f["csv"] = tmp_path / "jena.csv"
    f["csv"].write_text('"Date Time","T (degC)"\n01.01.2009 00:10:00,-8.02\n')
    f["zip"] = tmp_path / "jena.csv.zip"
    with zipfile.ZipFile(f["zip"], "w") as z:
        z.writestr("jena.csv", f["csv"].read_text())
    f["truncated_zip"] = tmp_path / "cut.zip"
    f["truncated_zip"].write_bytes(f["zip"].read_bytes()[:40])
    f["zip_named_csv"] = tmp_path / "zipped.csv"
    f["zip_named_csv"].write_bytes(f["zip"].read_bytes())
    f["empty"] = tmp_path / "empty.csv"
    f["empty"].write_bytes(b"")
    f["parquet"] = tmp_path / "jena.parquet"
    f["parquet"].write_bytes(b"PAR1\0\0")
    f["json"] = tmp_path / "imdb_word_index.json"
    f["json"].write_text(json.dumps({"film": 1}))
    f["not_json"] = tmp_path / "index.json"
    f["not_json"].write_text("film,1\n")
    f["npz_text"] = tmp_path / "imdb.npz"
    f["npz_text"].write_text("not an archive")
    f["tgz"] = write_tar_gz(tmp_path / "aclImdb_v1.tar.gz")
    f["gz_not_tar"] = tmp_path / "reviews.tar.gz"
    f["gz_not_tar"].write_bytes(gzip.compress(b"just text, no tar header" * 40))
    f["tgz_plain"] = tmp_path / "plain.tar.gz"
    f["tgz_plain"].write_bytes(b"uncompressed" * 100)
    f["txt_gz_binary"] = tmp_path / "corpus.txt.gz"
    f["txt_gz_binary"].write_bytes(gzip.compress(bytes(range(256)) * 8))
    f["folder"] = tmp_path / "aclImdb"
    f["folder"].mkdir()
    return f


@pytest.mark.parametrize("name, formats", [
    ("csv", ("csv", "zip")), ("zip", ("csv", "zip")), ("json", ("json",)),
    ("tgz", ("folder", "tar.gz", "tar")), ("folder", ("folder", "tar.gz", "tar")),
])
def test_good_inputs_pass(files, name, formats):
    check_path("dataset.path", str(files[name]), formats)


@pytest.mark.parametrize("name, formats, says", [
    ("missing", ("csv", "zip"), "does not exist: give a .csv file or a .zip (or dataset.path="
                                "null to download it)"),
    ("folder", ("csv", "zip"), "is a folder: give a .csv file or a .zip"),
    ("devnull", ("csv", "zip"), "is not a regular file (a device, pipe or socket)"),
    ("empty", ("csv", "zip"), "is empty (0 bytes): give a .csv file or a .zip"),
    ("parquet", ("csv", "zip"), "is not named as a .csv file or a .zip"),
    ("truncated_zip", ("csv", "zip"), "is not a zip archive, or is truncated"),
    ("zip_named_csv", ("csv", "zip"), "is a zip archive, not CSV text"),
    ("not_json", ("json",), "is not JSON"),
    ("npz_text", ("npz",), "is not a zip archive"),
    ("gz_not_tar", ("folder", "tar.gz", "tar"), "holds no tar archive"),
    ("tgz_plain", ("folder", "tar.gz", "tar"), "is not gzip-compressed (it holds text)"),
    ("txt_gz_binary", ("txt", "txt.gz", "folder"), "holds binary data, not text"),
])
def test_bad_inputs_are_one_line_naming_key_and_fix(files, tmp_path, name, formats, says):
    path = {"missing": str(tmp_path / "nope.csv"), "devnull": "/dev/null"}.get(name)
    path = path or str(files[name])
    with pytest.raises(SeqexpError) as info:
        check_path("dataset.path", path, formats, download=True)
    line = str(info.value)
    assert line.startswith(f"dataset.path={path} ") and says in line, line
    assert "\n" not in line


def test_a_character_device_is_not_a_regular_file(tmp_path):
    with pytest.raises(SeqexpError, match="is not a regular file"):
        check_path("encoder.path", "/dev/zero", ("txt", "txt.gz", "zip"))


# Through the command: each case answers with one line and exit 2, TensorFlow never imported
# (sys.modules of the process that ran seqexp's main).
CLI = """
import contextlib, io, json, sys
from seqexp.cli import run
out = []
for argv in json.loads(sys.argv[1]):
    sys.argv = ["seqexp", *argv]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            run.main()
            code = 0
        except SystemExit as e:
            code = e.code
    out.append([code, err.getvalue()])
heavy = [m for m in ("tensorflow", "keras", "mlflow") if m in sys.modules]
print(json.dumps({"cases": out, "heavy": heavy}))
"""


def test_file_errors_come_before_tensorflow(files, tmp_path):
    glove_folder = tmp_path / "glove"
    glove_folder.mkdir()
    npz = tmp_path / "imdb.npz"  # a zip: what the check looks at (arrays are the loader's)
    npz.write_bytes(files["zip"].read_bytes())
    cases = {
        "dataset.path=": ["dataset=jena", f"dataset.path={tmp_path / 'missing.csv.zip'}"],
        "is a folder": ["dataset=jena", f"dataset.path={files['folder']}"],
        "not a regular file": ["dataset=jena", "dataset.path=/dev/null"],
        "is empty": ["dataset=jena", f"dataset.path={files['empty']}"],
        "truncated": ["dataset=jena", f"dataset.path={files['truncated_zip']}"],
        "is not JSON": ["dataset=imdb", f"dataset.path={npz}",
                        f"dataset.word_index_path={files['not_json']}"],
        "encoder.path": ["dataset=raw-imdb", f"dataset.path={files['tgz']}", "encoder=glove",
                         f"encoder.path={glove_folder}"],
        "holds no tar": ["dataset=text", "dataset.source=raw-imdb",
                         f"dataset.path={files['gz_not_tar']}"],
    }
    code = subprocess.run([sys.executable, "-c", CLI, json.dumps(list(cases.values()))],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    result = json.loads(code.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [], result
    for needle, (exit_code, stderr) in zip(cases, result["cases"], strict=True):
        lines = stderr.strip().splitlines()
        assert exit_code == 2 and len(lines) == 1, (needle, stderr)
        assert lines[0].startswith("seqexp: error: ") and needle in lines[0], lines[0]
    assert not (tmp_path / "mlflow.db").exists()  # refused before anything was recorded
