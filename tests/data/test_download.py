"""Downloads against a local HTTP server on 127.0.0.1: checksums, resume (HTTP Range), atomic files."""

import hashlib
import io
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from striate.cli.main import main
from striate.data import download
from striate.data.download import DataSet, RemoteFile, download_dataset, download_file
from striate.errors import DataError

PAYLOAD = bytes(range(256)) * 400  # 100 KiB


class _Server:
    """Serves ``files`` (name -> bytes); honours Range unless ``ranges`` is False; ``cut`` bytes: close early."""

    def __init__(self, files):
        self.files, self.ranges, self.cut, self.requests = files, True, None, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.lstrip("/").split("/")[-1]
                server.requests.append((name, self.headers.get("Range")))
                if name not in server.files:
                    self.send_error(404)
                    return
                body, start = server.files[name], 0
                header = self.headers.get("Range")
                if header and server.ranges:
                    start = int(header.split("=")[1].rstrip("-"))
                    if start >= len(body):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                chunk = body[start:] if server.cut is None else body[start : start + server.cut]
                self.wfile.write(chunk)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server():
    serving = _Server({"data.bin": PAYLOAD})
    yield serving
    serving.httpd.shutdown()
    serving.httpd.server_close()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_download_checks_the_checksum_and_leaves_no_partial_file(server, tmp_path):
    target = download_file(server.url + "data.bin", tmp_path / "data.bin", md5(PAYLOAD))
    assert target.read_bytes() == PAYLOAD and not (tmp_path / "data.bin.part").exists()
    with pytest.raises(DataError, match="checksum mismatch"):
        download_file(server.url + "data.bin", tmp_path / "other.bin", md5(b"something else"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]  # nothing half-written


def test_an_interrupted_download_resumes_with_a_range_request(server, tmp_path):
    server.cut = 30_000
    with pytest.raises(DataError, match="interrupted.*resume"):
        download_file(server.url + "data.bin", tmp_path / "data.bin", md5(PAYLOAD))
    assert not (tmp_path / "data.bin").exists()
    assert (tmp_path / "data.bin.part").stat().st_size == 30_000
    server.cut = None
    download_file(server.url + "data.bin", tmp_path / "data.bin", md5(PAYLOAD))
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD
    assert server.requests[-1] == ("data.bin", "bytes=30000-")


def test_a_server_without_range_support_restarts_the_file(server, tmp_path):
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD[:5000])
    server.ranges = False
    download_file(server.url + "data.bin", tmp_path / "data.bin", md5(PAYLOAD))
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD


def test_a_complete_file_is_not_fetched_again(server, tmp_path):
    (tmp_path / "data.bin").write_bytes(PAYLOAD)
    download_file(server.url + "data.bin", tmp_path / "data.bin", md5(PAYLOAD))
    assert server.requests == []


def test_missing_file_is_a_clear_error(server, tmp_path):
    with pytest.raises(DataError, match="HTTP error 404"):
        download_file(server.url + "nope.bin", tmp_path / "nope.bin", md5(b""))


def test_cli_refuses_files_that_do_not_match_the_official_checksums(server, tmp_path, capsys):
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        server.files[name] = b"not the real MNIST"
    code = main(["data", "download", "mnist", "--dir", str(tmp_path), "--mirror", server.url])
    assert code == 2
    assert "checksum mismatch" in capsys.readouterr().err
    assert not (tmp_path / "mnist").exists()  # nothing half-written: the empty folder it made is gone too


def _closed_port() -> int:
    """A local port nothing listens on (bound, then closed): connecting to it is refused at once."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_no_network_says_the_host_cannot_be_reached_and_leaves_no_folder(tmp_path, capsys):
    url = f"http://127.0.0.1:{_closed_port()}/"
    with pytest.raises(DataError, match=r"cannot reach 127\.0\.0\.1 .*no network\?"):
        download_file(url + "data.bin", tmp_path / "data.bin", md5(PAYLOAD), timeout=5)
    assert list(tmp_path.iterdir()) == []
    code = main(["data", "download", "mnist", "--dir", str(tmp_path / "cache"), "--mirror", url])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "cannot reach 127.0.0.1" in err and "resume from" not in err
    assert not (tmp_path / "cache").exists()  # the folders it made are removed again


def _cifar_archive() -> bytes:
    import pickle

    import numpy as np

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
        for name in names + ["batches.meta"]:
            value = {b"label_names": [b"a", b"b"]} if name == "batches.meta" else \
                {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]}
            raw = pickle.dumps(value, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


def test_cifar_archive_is_downloaded_through_the_mirror_variable_and_unpacked(server, tmp_path, monkeypatch):
    from striate.data.sources import load_source

    archive = _cifar_archive()
    server.files["cifar-10-python.tar.gz"] = archive
    monkeypatch.setitem(download.DATASETS, "cifar10",
                        DataSet(("https://unused.invalid/",), (RemoteFile("cifar-10-python.tar.gz", md5(archive)),), True))
    monkeypatch.setenv("STRIATE_DOWNLOAD_MIRROR", server.url)
    folder = download_dataset("cifar10", tmp_path)
    assert len(load_source("cifar10", str(folder))["train"]) == 10
    assert not list(tmp_path.glob(".extract-*"))  # the staging folder is gone


def test_official_table_has_real_urls_and_checksums():
    for name, spec in download.DATASETS.items():
        assert all(url.startswith(("https://", "http://")) for url in spec.base_urls), name
        assert all(len(remote.md5) == 32 and int(remote.md5, 16) >= 0 for remote in spec.files), name
    assert download.DATASETS["mnist"].files[0].md5 == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
