"""The `assistant` command as a user runs it: bad input gets one clear line, nothing is lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web_site import serve_help_center

from assistant.interfaces.cli.main import app
from assistant.settings import Settings
from assistant.thread_store import ThreadOwner, open_checkpointer
from assistant.turn.small_talk import DEFAULT_REPLIES, SmallTalk

REPO = Path(__file__).resolve().parents[2]
ASSISTANT = Path(sys.executable).parent / "assistant"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Environment of a user whose data lives in tmp_path (the model cache stays shared)."""
    return {
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_QDRANT_PATH": str(tmp_path / "qdrant"),
        "ASSISTANT_TORCH_THREADS": "1",
        "ASSISTANT_TENANT": "default",
    }


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_an_empty_question_is_refused_with_a_clear_error(env, question):
    code, output = invoke(env, "ask", question)
    assert code == 1
    assert "question is empty" in output


def test_a_one_megabyte_question_is_refused_naming_the_limit(env):
    code, output = invoke(env, "ask", "x" * 1_048_576)
    assert code == 1
    assert "1,048,576 characters" in output and "limit is 4,000" in output


def test_ingest_reports_missing_and_unsupported_files_and_keeps_the_good_ones(env, tmp_path):
    (tmp_path / "notes.xyz").write_text("data")
    good = tmp_path / "good.md"
    good.write_text("# Good\n\nThis one is fine.\n")
    code, output = invoke(
        env, "ingest", str(tmp_path / "missing.md"), str(tmp_path / "notes.xyz"), str(good)
    )
    assert code == 0
    assert "missing.md" in output
    assert "unsupported file type .xyz" in output
    code, output = invoke(env, "search", "fine")
    assert "good.md" in output


def test_a_malformed_jsonl_line_is_reported_with_its_number_and_the_rest_ingested(env, tmp_path):
    records = tmp_path / "kb.jsonl"
    records.write_text(
        json.dumps({"doc_id": "a", "title": "A", "text": "Alpha passage about invoices."})
        + "\n{not json\n"
        + json.dumps({"doc_id": "b", "title": "B", "text": "Beta passage about refunds."})
        + "\n"
    )
    code, output = invoke(env, "ingest", str(records))
    assert code == 0
    assert "kb.jsonl:2" in output
    _, found = invoke(env, "search", "refunds", "-k", "5")
    assert "b" in found.split() and "a" in found.split()


def test_ingest_crawls_a_sitemap_and_imports_a_zendesk_help_center(env):
    with serve_help_center() as site:
        web = {**env, "ASSISTANT_CRAWL_DELAY_S": "0", "ASSISTANT_ZENDESK_URL": site.base}
        code, output = invoke(web, "ingest", f"{site.base}/sitemap.xml", "--zendesk", "acme")
    assert code == 0, output
    # Two pages of the sitemap and two published articles; the private page is refused.
    report_row = next(line for line in output.splitlines() if line.startswith("│"))
    assert report_row.split("│")[1].strip() == "4"
    assert f"{site.base}/private/notes: robots.txt disallows it" in output


def test_ingest_refuses_a_zendesk_value_that_is_no_subdomain(env):
    code, output = invoke(env, "ingest", "--zendesk", "acme.zendesk.com/hc")
    assert code == 1
    assert "--zendesk takes a Help Center subdomain" in output


def test_deleting_an_unknown_document_says_so(env):
    code, output = invoke(env, "delete", "nope.md")
    assert code == 1
    assert "no document 'nope.md'" in output


def test_an_unreachable_qdrant_server_is_named_in_the_error(env):
    code, output = invoke({**env, "QDRANT_URL": "http://127.0.0.1:9"}, "search", "anything")
    assert code == 1
    assert "127.0.0.1:9" in output


@pytest.mark.slow
def test_a_missing_model_folder_is_named_in_the_error(env, tmp_path):
    missing = tmp_path / "no-model"
    code, output = invoke({**env, "ASSISTANT_MODEL_PATH": str(missing)}, "ask", "hello?")
    assert code == 1
    assert str(missing) in output.replace("\n", "")


@pytest.mark.slow
def test_a_model_server_that_is_down_is_named_in_the_error(env):
    server = {
        **env,
        "ASSISTANT_BACKEND": "openai",
        "ASSISTANT_BASE_URL": "http://127.0.0.1:9/v1",
        "ASSISTANT_MAX_RETRIES": "0",
    }
    code, output = invoke(server, "ask", "How do I reset my password?")
    assert code == 1
    assert "127.0.0.1:9" in output


@pytest.mark.slow
def test_a_thread_resumes_in_a_new_process(env, tmp_path):
    full_env = {**os.environ, **env}

    def run(*args: str) -> str:
        done = subprocess.run(
            [str(ASSISTANT), *args], env=full_env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("ingest", str(REPO / "docs"))
    first = json.loads(run("ask", "Where are conversation threads stored?", "--json"))
    thread = first["thread_id"]
    second = json.loads(run("ask", "How do I delete a document?", "--thread", thread, "--json"))
    assert second["thread_id"] == thread

    settings = Settings(_env_file=None, data_dir=Path(env["ASSISTANT_DATA_DIR"]))
    saver = open_checkpointer(settings.checkpoint_path)
    # The store keys the thread by its owner: the CLI's tenant, through the API's namespace.
    key = ThreadOwner(tenant=env.get("ASSISTANT_TENANT", settings.tenant)).key(thread)
    checkpoint = saver.get({"configurable": {"thread_id": key}})
    assert checkpoint is not None
    messages = checkpoint["channel_values"]["messages"]
    assert [m.type for m in messages] == ["human", "ai", "human", "ai"]
    assert messages[2].text == "How do I delete a document?"


def test_an_invalid_setting_is_one_clear_line(env):
    code, output = invoke({**env, "ASSISTANT_TOP_K": "zero"}, "search", "anything")
    assert code == 1
    assert "invalid settings" in output and "top_k" in output


@pytest.mark.slow
def test_chat_keeps_one_thread_for_the_whole_conversation(env):
    code, _ = invoke(env, "ingest", str(REPO / "docs"))
    assert code == 0
    result = CliRunner().invoke(
        app,
        ["chat"],
        env=env,
        input="Where are conversation threads stored?\n\nHow do I delete a document?\nexit\n",
    )
    assert result.exit_code == 0, result.output
    assert "question is empty" in result.output  # the blank line; the chat goes on
    assert result.output.count("· thread ") == 2
    threads = {
        line.split("· thread ")[1].strip()
        for line in result.output.splitlines()
        if "· thread " in line
    }
    assert len(threads) == 1


def test_fit_small_talk_learns_the_intents_of_a_clinc_file_and_refuses_a_broken_one(
    env, tmp_path: Path, embedder
):
    rows = [
        *(("greeting", t) for t in ("hello", "hi there", "good morning", "hey", "howdy")),
        *(("thank_you", t) for t in ("thanks", "thank you", "many thanks", "cheers", "ta")),
        *(("goodbye", t) for t in ("bye", "goodbye", "see you", "farewell", "later")),
    ]
    clinc = tmp_path / "clinc.jsonl"
    lines = [json.dumps({"text": t, "label": i, "domain": "small_talk"}) for i, t in rows]
    # Another domain's rows are not small talk: left out.
    lines.append(json.dumps({"text": "book a flight", "label": "book_flight", "domain": "travel"}))
    clinc.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "heads" / "small_talk"

    code, output = invoke(
        env, "adapters", "fit-small-talk", "--clinc", str(clinc), "--out", str(out)
    )

    assert code == 0, output
    small_talk = SmallTalk.load(out, embedder)
    assert small_talk.head.labels == ["goodbye", "greeting", "thank_you"]
    assert small_talk.reply("thank you very much") == DEFAULT_REPLIES["thank_you"]
    clinc.write_text('{"text": "hello"}\n', encoding="utf-8")
    code, output = invoke(
        env, "adapters", "fit-small-talk", "--clinc", str(clinc), "--out", str(out)
    )
    assert code != 0
    assert "clinc.jsonl:1" in output and "Traceback" not in output
