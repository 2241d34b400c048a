"""Files and web answers that expand hugely when read are refused within the caps, and
nothing else of the same ingest is lost. Each bomb is read in a subprocess of the test, which
reports its own time and peak memory (with its file-reading worker's); the API server keeps
answering chats while an upload is being refused.

Figures of the code before the caps, on this machine (see docs/security.md): the 30 MB
`<w:p/>` .docx took 75 s and 1187 MB of peak RSS to load; the 300 MB gzip sitemap 68 s and
3015 MB.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from document_files import write_docx
from doubles import ScriptedChatModel
from input_bombs import sitemap_bomb, write_docx_bomb
from web_site import Site, serve_help_center

from assistant.interfaces.api.in_thread import serving
from assistant.knowledge.store import KnowledgeStore
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer

MB = 1024 * 1024
# What the loads below may cost at most; the code before the caps used 1187 MB and 75 s on
# the docx bomb alone.
MAX_RSS_MB = 400
MAX_SECONDS = 40

# The peak RSS of the process itself since its exec. Not ru_maxrss of RUSAGE_SELF: Linux
# carries that over from the parent at fork, so a subprocess of a large pytest process would
# report the parent's size. (The worker's RUSAGE_CHILDREN figure carries over only this
# process's own size, which is counted anyway.)
OWN_PEAK = """
def own_peak_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
"""

# Runs in the subprocess: load a folder, report what came out, the time and the peak RSS of
# this process and of its children (the file-reading worker).
LOAD_FOLDER = (
    OWN_PEAK
    + """
import json, resource, sys, time
from pathlib import Path
from assistant.ingestion.loaders import LoadError, load_documents
caps = json.loads(sys.argv[2])
parser = None
if caps:
    from assistant.ingestion.binary_parser import BinaryParser
    from assistant.ingestion.input_limits import InputLimits
    parser = BinaryParser(InputLimits(**caps))
start = time.perf_counter()
items = list(load_documents(Path(sys.argv[1]), "acme", *([parser] if parser else [])))
seconds = time.perf_counter() - start
if parser:
    parser.close()
peak = max(own_peak_kb(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({
    "docs": sorted(i.doc_id for i in items if not isinstance(i, LoadError)),
    "errors": [str(i) for i in items if isinstance(i, LoadError)],
    "seconds": seconds,
    "peak_mb": peak / 1024,
}))
"""
)

CRAWL = (
    OWN_PEAK
    + """
import json, resource, sys, time
from assistant.ingestion.crawl import PoliteClient, crawl
from assistant.ingestion.loaders import LoadError
from assistant.settings import Settings
settings = Settings(_env_file=None, crawl_delay_s=0, crawl_allow_private_addresses=True)
start = time.perf_counter()
with PoliteClient.open(settings) as client:
    items = list(crawl(sys.argv[1], client, max_pages=50, tenant="acme"))
seconds = time.perf_counter() - start
peak = own_peak_kb()
print(json.dumps({
    "docs": [i.doc_id for i in items if not isinstance(i, LoadError)],
    "errors": [str(i) for i in items if isinstance(i, LoadError)],
    "seconds": seconds,
    "peak_mb": peak / 1024,
}))
"""
)


def run_script(script: str, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def docx_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_docx_bomb(tmp_path_factory.mktemp("bomb") / "bomb.docx", expanded_mb=30)


@pytest.fixture
def folder(tmp_path: Path, docx_bomb: Path) -> Path:
    """The bomb beside an ordinary Word file and a Markdown page."""
    root = tmp_path / "kb"
    root.mkdir()
    (root / "bomb.docx").write_bytes(docx_bomb.read_bytes())
    write_docx(root / "guide.docx")
    (root / "refunds.md").write_text("# Refunds\n\nRefunds take five business days.\n")
    return root


@pytest.mark.slow
@pytest.mark.parametrize(
    ("caps", "cap_named", "max_rss_mb"),
    [
        # The defaults: refused before parsing, for next to nothing.
        ({}, "ASSISTANT_INGEST_ZIP_MAX_RATIO", MAX_RSS_MB),
        # Past the zip checks, the worker's memory cap stops it.
        ({"zip_max_ratio": 1e6, "parse_max_memory_bytes": 384 * MB}, "PARSE_MAX_MEMORY_MB", 384),
        # Or its time cap, long before the default memory cap (2048 MB).
        ({"zip_max_ratio": 1e6, "parse_timeout_s": 2}, "PARSE_TIMEOUT_S", 2048),
    ],
)
def test_a_docx_bomb_is_refused_within_the_caps_and_the_other_files_load(
    folder: Path, caps: dict[str, float], cap_named: str, max_rss_mb: float
) -> None:
    result = run_script(LOAD_FOLDER, str(folder), json.dumps(caps))

    assert result["docs"] == ["guide.docx", "refunds.md"]
    [error] = result["errors"]  # type: ignore[misc]
    assert error.startswith(f"{folder / 'bomb.docx'}: ") and cap_named in error
    assert result["peak_mb"] < max_rss_mb, result  # type: ignore[operator]
    assert result["seconds"] < MAX_SECONDS, result  # type: ignore[operator]


@pytest.fixture(scope="module")
def bomb_bytes() -> bytes:
    return sitemap_bomb(expanded_mb=300)


@pytest.fixture
def site(bomb_bytes: bytes) -> Iterator[Site]:
    with serve_help_center() as served:
        # Sent compressed in transit (the client inflates it), and as a .xml.gz file.
        served.files["/sitemap.xml"] = ("application/xml", bomb_bytes)
        served.headers["/sitemap.xml"] = {"Content-Encoding": "gzip"}
        served.files["/sitemap.xml.gz"] = ("application/gzip", bomb_bytes)
        yield served


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/sitemap.xml", "/sitemap.xml.gz"])
def test_a_gzip_sitemap_bomb_is_refused_within_the_byte_cap(site: Site, path: str) -> None:
    result = run_script(CRAWL, f"{site.base}{path}")

    assert result["docs"] == []
    [error] = result["errors"]  # type: ignore[misc]
    assert "more than 50 MB once decompressed (ASSISTANT_CRAWL_MAX_RESPONSE_MB)" in error
    assert result["peak_mb"] < MAX_RSS_MB, result  # type: ignore[operator]
    assert result["seconds"] < MAX_SECONDS, result  # type: ignore[operator]


def test_a_small_gzip_sitemap_file_is_read(site: Site) -> None:
    """Capped, a .xml.gz sitemap still works: it is unpacked as it arrives."""
    import gzip

    urls = f"<url><loc>{site.base}/articles/reset</loc></url>"
    packed = gzip.compress(f"<urlset>{urls}</urlset>".encode())
    site.files["/small.xml.gz"] = ("application/gzip", packed)

    result = run_script(CRAWL, f"{site.base}/small.xml.gz")

    assert result == {**result, "docs": [f"{site.base}/articles/reset"], "errors": []}


@pytest.mark.slow
def test_the_api_answers_chats_while_an_upload_bomb_is_being_refused(
    settings: Settings, store: KnowledgeStore, docx_bomb: Path, tmp_path: Path
) -> None:
    # Caps loose enough that the bomb reaches the worker and runs into its time cap: the
    # upload then takes seconds, during which the server must go on answering.
    settings.ingest_zip_max_ratio = 1e6
    settings.ingest_parse_timeout_s = 15
    settings.serve_max_upload_bytes = 10 * MB
    settings.adapters_dir = tmp_path / "no-adapters"
    assistant = Assistant(
        settings,
        store=store,
        model=ScriptedChatModel(respond=lambda prompt: "search"),
        checkpointer=open_checkpointer(settings.checkpoint_path),
    )
    assert assistant.needs_exclusive_use  # calls into it take turns: the case that matters
    upload: dict[str, object] = {}
    with serving(settings, assistant) as base:

        def send_bomb() -> None:
            files = {"files": ("bomb.docx", docx_bomb.read_bytes())}
            response = httpx.post(f"{base}/v1/documents", files=files, timeout=300)
            upload.update(status=response.status_code, body=response.text, at=time.monotonic())

        sender = threading.Thread(target=send_bomb)
        sender.start()
        time.sleep(1.0)  # the upload is in; its file is being read
        answered = []
        while sender.is_alive() and len(answered) < 3:
            chat = httpx.post(f"{base}/v1/chat", json={"message": "hello"}, timeout=300)
            assert chat.status_code == 200, chat.text
            answered.append(time.monotonic())
        sender.join()
    assistant.checkpointer.conn.close()

    assert len(answered) == 3 and max(answered) < upload["at"]  # type: ignore[operator]
    assert upload["status"] == 422
    assert "bomb.docx" in str(upload["body"]) and "PARSE_TIMEOUT_S" in str(upload["body"])
