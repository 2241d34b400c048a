"""Tenant isolation under attack: queries made of another tenant's exact titles, doc ids and
distinctive phrases return none of that tenant's chunks, through every front door.

Two tenants hold real corpora (the support corpus split by its `collection`: IBM Cloud docs
and US government pages). Every probe is run as the tenant that does NOT own the document it
was made from; every chunk retrieved and every citation returned must belong to the caller.
A positive control runs the same probes as the owner, to show they would find the document.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from doubles import ScriptedChatModel
from fake_openai import FakeServer, Reply, running
from fastapi.testclient import TestClient
from pydantic import SecretStr
from qdrant_client import models
from slack_fakes import (
    BOT_USER,
    SIGNING_SECRET,
    TEAM,
    FakeSlack,
    event_body,
    fake_slack,
    signed_headers,
)
from typer.testing import CliRunner

from assistant.ingestion.ingest import ingest_paths
from assistant.interfaces.api.app import create_app
from assistant.interfaces.cli.main import app as cli_app
from assistant.interfaces.slack.app import build_app
from assistant.interfaces.slack.bot import SlackBot
from assistant.interfaces.slack.transports import EVENTS_PATH, http_app
from assistant.knowledge.embedder import Embedder
from assistant.knowledge.sparse import SparseEncoder
from assistant.knowledge.store import KnowledgeStore
from assistant.schemas import Answer, Outcome
from assistant.service import Assistant
from assistant.settings import SearchMode, Settings, StoreEngineName
from assistant.thread_store import ThreadSource, open_checkpointer

TENANTS = ("ibmcloud", "govt")
ENGINES: tuple[StoreEngineName, ...] = ("edge", "local")
DOCS_PER_TENANT = 15
K = 5  # the default top_k
CITED = 2  # passages each scripted answer cites (every retrieved chunk is checked anyway)
KEYS = {"key-ibmcloud": "ibmcloud", "key-govt": "govt"}
KINDS = ("title", "doc_id", "phrase", "all")
DECIDE_MARK = "What should the support assistant do"
GENERATE_MARK = "Answer the customer's question"
PASSAGE = re.compile(r"^\[(\d+)\] (.+)$", re.MULTILINE)
SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Corpora:
    folders: dict[StoreEngineName, Path]
    """The same knowledge base on each embedded engine."""
    docs: dict[str, list[dict[str, str]]]

    @property
    def qdrant(self) -> Path:
        """The default engine's folder, which every front door opens."""
        return self.folders["edge"]

    def owner(self) -> dict[str, str]:
        """doc_id -> the tenant it was ingested for."""
        return {d["doc_id"]: t for t, docs in self.docs.items() for d in docs}


@dataclass(frozen=True)
class Probe:
    """A query made of one document of `owner`, run as `caller` (the other tenant)."""

    caller: str
    owner: str
    doc_id: str
    kind: str
    text: str


def distinctive_phrase(text: str) -> str:
    """The document's longest sentence (what a copy-paste attack would use), <= 200 chars."""
    sentences = [s.strip() for s in SENTENCE.split(" ".join(text.split()))]
    fitting = [s for s in sentences if 30 <= len(s) <= 200]
    return max(fitting, key=len) if fitting else " ".join(text.split())[:200]


def probes_for(doc: dict[str, str], *, caller: str, owner: str) -> list[Probe]:
    first_line = next(line.strip() for line in doc["text"].splitlines() if line.strip())
    title = doc["title"] or first_line[:150]
    phrase = distinctive_phrase(doc["text"])
    texts = {
        "title": title,
        "doc_id": doc["doc_id"],
        "phrase": phrase,
        "all": f"{title} {doc['doc_id']} {phrase}",
    }
    return [Probe(caller, owner, doc["doc_id"], kind, texts[kind]) for kind in KINDS]


@pytest.fixture(scope="module")
def corpora(
    shared_data: Path,
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    sparse: SparseEncoder,
) -> Corpora:
    """The first documents of each collection, each collection ingested as its own tenant, on
    each embedded engine."""
    root = tmp_path_factory.mktemp("tenants")
    rows = [json.loads(line) for line in (shared_data / "support_corpus.jsonl").open()]
    docs = {t: [r for r in rows if r["collection"] == t][:DOCS_PER_TENANT] for t in TENANTS}
    for tenant, chosen in docs.items():
        path = root / f"{tenant}.jsonl"
        path.write_text("".join(json.dumps(d) + "\n" for d in chosen), encoding="utf-8")
    folders: dict[StoreEngineName, Path] = {}
    for engine in ENGINES:
        config = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=root / "data",
            qdrant_path=root / engine,
            cache_dir=root / "cache",
            store_engine=engine,
        )
        with KnowledgeStore.open(config, embedder=embedder, sparse=sparse) as store:
            store.ensure_collection()
            for tenant in docs:
                report = ingest_paths(
                    [root / f"{tenant}.jsonl"],
                    store,
                    tenant=tenant,
                    max_chars=config.chunk_max_chars,
                )
                assert report.docs == DOCS_PER_TENANT and not report.errors, report
        folders[engine] = config.qdrant_path
    return Corpora(folders, docs)


@pytest.fixture(scope="module")
def probes(corpora: Corpora) -> list[Probe]:
    """Every document of each tenant turned into four queries, run as the other tenant."""
    caller_of = {TENANTS[0]: TENANTS[1], TENANTS[1]: TENANTS[0]}
    return [
        probe
        for owner, docs in corpora.docs.items()
        for doc in docs
        for probe in probes_for(doc, caller=caller_of[owner], owner=owner)
    ]


def sample(probes: list[Probe], per_doc: int) -> list[Probe]:
    """`per_doc` probes of each document, their kinds rotating from one document to the next
    (the slower front doors take a sample; every kind and every document is in it)."""
    by_doc = [probes[i : i + len(KINDS)] for i in range(0, len(probes), len(KINDS))]
    return [doc[(d + j) % len(KINDS)] for d, doc in enumerate(by_doc) for j in range(per_doc)]


@pytest.fixture(scope="module")
def probe_vectors(
    probes: list[Probe], embedder: Embedder, sparse: SparseEncoder
) -> list[tuple[np.ndarray, models.SparseVector]]:
    """Each probe's query vectors, computed once for the store-level tests."""
    return [(embedder.embed_query(p.text), sparse.encode_query(p.text)) for p in probes]


@pytest.fixture
def settings(settings: Settings, corpora: Corpora, tmp_path: Path) -> Settings:
    """Threads and logs in this test's folder; the knowledge base is the shared one."""
    settings.qdrant_path = corpora.qdrant
    settings.top_k = K
    settings.min_relevance = -1.0  # every retrieved chunk reaches the generator
    settings.adapters_dir = tmp_path / "no-adapters"
    settings.answer_mode = "generative"
    settings.serve_api_keys = dict(KEYS)
    return settings


@pytest.fixture
def kb(settings: Settings, embedder: Embedder, sparse: SparseEncoder) -> Iterator[KnowledgeStore]:
    # One process, one client per folder: each test opens it and closes it again.
    with KnowledgeStore.open(settings, embedder=embedder, sparse=sparse) as store:
        store.ensure_collection()
        yield store


@pytest.fixture(params=ENGINES)
def any_kb(
    settings: Settings,
    corpora: Corpora,
    embedder: Embedder,
    sparse: SparseEncoder,
    request: pytest.FixtureRequest,
) -> Iterator[KnowledgeStore]:
    """The knowledge base on each embedded engine in turn."""
    engine: StoreEngineName = request.param
    config = settings.model_copy(
        update={"store_engine": engine, "qdrant_path": corpora.folders[engine]}
    )
    with KnowledgeStore.open(config, embedder=embedder, sparse=sparse) as store:
        yield store


def cite_passages(prompt: str) -> str:
    """The generator's reply: the opening words of the first numbered passages, cited. Copied
    from the passages, so citation verification keeps every sentence."""
    return " ".join(
        " ".join(first.split()[:12]).rstrip(".!?:;,") + f" [{n}]."
        for n, first in PASSAGE.findall(prompt)[:CITED]
    )


def script(prompt: str) -> str:
    if DECIDE_MARK in prompt:
        return "search"
    if GENERATE_MARK in prompt:
        return cite_passages(prompt)
    return ""


def assistant_over(settings: Settings, kb: KnowledgeStore) -> Assistant:
    return Assistant(
        settings,
        store=kb,
        model=ScriptedChatModel(respond=script),
        checkpointer=open_checkpointer(settings.checkpoint_path),
    )


class Tally:
    """Counts what each probe got back; `leaks` are chunks or citations of another tenant."""

    def __init__(self, corpora: Corpora) -> None:
        self.owner_of = corpora.owner()
        self.queries = 0
        self.returned = 0
        self.leaks: list[tuple[Probe, str]] = []

    def check(self, probe: Probe, doc_ids: list[str], tenants: list[str] | None = None) -> None:
        self.queries += 1
        self.returned += len(doc_ids)
        for doc_id, tenant in zip(doc_ids, tenants or [probe.caller] * len(doc_ids), strict=True):
            if tenant != probe.caller or self.owner_of.get(doc_id) != probe.caller:
                self.leaks.append((probe, doc_id))

    def assert_none_leaked(self, surface: str) -> None:
        print(
            f"\n{surface}: {self.queries} adversarial queries, {self.returned} chunks or "
            f"citations returned, {len(self.leaks)} of another tenant"
        )
        assert self.returned > 0, "nothing came back: the check would prove nothing"
        assert self.leaks == [], self.leaks[:5]


# --- the store: what every front door searches -------------------------------------------------


@pytest.mark.parametrize("mode", ["hybrid", "dense", "sparse"])
def test_no_search_mode_returns_another_tenants_chunks(
    any_kb: KnowledgeStore,
    corpora: Corpora,
    probes: list[Probe],
    probe_vectors: list[tuple[np.ndarray, models.SparseVector]],
    mode: SearchMode,
) -> None:
    # `search_vectors` is `search` after embedding: the tenant filter is applied in it.
    tally = Tally(corpora)
    for probe, (dense, terms) in zip(probes, probe_vectors, strict=True):
        found = any_kb.search_vectors(dense, terms, tenant=probe.caller, k=K, mode=mode)
        tally.check(probe, [c.doc_id for c in found], [c.tenant for c in found])
    tally.assert_none_leaked(f"store ({mode})")


def test_the_probes_find_their_document_for_its_owner(
    any_kb: KnowledgeStore,
    probes: list[Probe],
    probe_vectors: list[tuple[np.ndarray, models.SparseVector]],
) -> None:
    """The control: without the tenant filter standing in the way, the attack would work."""
    hits: Counter[str] = Counter()
    for probe, (dense, terms) in zip(probes, probe_vectors, strict=True):
        found = any_kb.search_vectors(dense, terms, tenant=probe.owner, k=K, mode="hybrid")
        hits[probe.kind] += probe.doc_id in [c.doc_id for c in found]
    total = Counter(p.kind for p in probes)
    print("\nowner finds the probed document in the top", K, dict(hits), "of", dict(total))
    for kind in ("title", "phrase", "all"):
        assert hits[kind] >= 0.8 * total[kind], (kind, hits, total)


# --- the CLI -----------------------------------------------------------------------------------


@pytest.fixture
def cli_env(
    settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    # One embedder for the whole session: each command would otherwise load its own.
    monkeypatch.setattr("assistant.knowledge.store.open_embedder", lambda *_, **__: embedder)
    return {
        "ASSISTANT_DATA_DIR": str(settings.data_dir),
        "ASSISTANT_QDRANT_PATH": str(settings.qdrant_path),
        "ASSISTANT_TOP_K": str(K),
        "COLUMNS": "400",
    }


def cli(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(cli_app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def table_doc_ids(output: str) -> list[str]:
    """The `doc` column of `assistant search`'s table."""
    rows = [line.split("│") for line in output.splitlines() if line.startswith("│")]
    return [cells[4].strip() for cells in rows if cells[1].strip().isdigit()]


def test_assistant_search_with_ASSISTANT_TENANT_returns_only_that_tenants_chunks(
    cli_env: dict[str, str], corpora: Corpora, probes: list[Probe]
) -> None:
    tally = Tally(corpora)
    for probe in sample(probes, per_doc=1):
        output = cli({**cli_env, "ASSISTANT_TENANT": probe.caller}, "search", probe.text)
        found = table_doc_ids(output)
        assert len(found) == K, output
        tally.check(probe, found)
    tally.assert_none_leaked("CLI search")


def test_assistant_ask_with_ASSISTANT_TENANT_cites_only_that_tenants_documents(
    cli_env: dict[str, str], corpora: Corpora, probes: list[Probe], tmp_path: Path
) -> None:
    tally = Tally(corpora)
    with running(FakeServer(lambda prompt: Reply(script(prompt)))) as server:
        env = {
            **cli_env,
            "ASSISTANT_BACKEND": "openai",
            "ASSISTANT_BASE_URL": server.url,
            "ASSISTANT_MAX_RETRIES": "0",
            "ASSISTANT_ADAPTERS_DIR": str(tmp_path / "no-adapters"),
            "ASSISTANT_ANSWER_MODE": "generative",
            "ASSISTANT_MIN_RELEVANCE": "-1",
        }
        for probe in sample(probes, per_doc=1)[::5]:
            output = cli({**env, "ASSISTANT_TENANT": probe.caller}, "ask", probe.text, "--json")
            answer = Answer.model_validate_json(output)
            assert answer.outcome is Outcome.ANSWERED, answer
            tally.check(probe, [c.doc_id for c in answer.citations])
    tally.assert_none_leaked("CLI ask")


# --- the API -----------------------------------------------------------------------------------


@pytest.fixture
def api(settings: Settings, kb: KnowledgeStore) -> Iterator[tuple[TestClient, Assistant]]:
    assistant = assistant_over(settings, kb)
    with TestClient(create_app(settings, assistant=assistant)) as client:
        yield client, assistant
    assistant.checkpointer.conn.close()  # type: ignore[attr-defined]


def key_of(tenant: str) -> str:
    return next(key for key, owner in KEYS.items() if owner == tenant)


def retrieved(
    assistant: Assistant, thread_id: str, tenant: str, via: ThreadSource = "api"
) -> tuple[list[str], list[str]]:
    """Doc ids and tenants of every chunk the turn's searches returned (server side), from
    the thread of `tenant` (through `via`)."""
    chunks = assistant.thread_values(thread_id, tenant=tenant, via=via)["chunks"]
    return [c.doc_id for c in chunks], [c.tenant for c in chunks]


def test_the_api_key_scopes_chat_to_its_tenant_whatever_the_query(
    api: tuple[TestClient, Assistant], corpora: Corpora, probes: list[Probe]
) -> None:
    client, assistant = api
    cited, searched = Tally(corpora), Tally(corpora)
    for probe in sample(probes, per_doc=2):
        headers = {"Authorization": f"Bearer {key_of(probe.caller)}"}
        response = client.post("/v1/chat", json={"message": probe.text}, headers=headers)
        assert response.status_code == 200, response.text
        answer = Answer.model_validate(response.json())
        assert answer.outcome is Outcome.ANSWERED and answer.citations, answer
        cited.check(probe, [c.doc_id for c in answer.citations])
        searched.check(probe, *retrieved(assistant, answer.thread_id or "", probe.caller))
    cited.assert_none_leaked("API /v1/chat citations")
    searched.assert_none_leaked("API /v1/chat retrieved chunks")


def test_the_api_key_scopes_openai_completions_to_its_tenant(
    api: tuple[TestClient, Assistant], corpora: Corpora, probes: list[Probe]
) -> None:
    client, _ = api
    tally = Tally(corpora)
    for probe in sample(probes, per_doc=1)[1::2]:
        body = {"messages": [{"role": "user", "content": probe.text}]}
        response = client.post(
            "/v1/chat/completions", json=body, headers={"X-API-Key": key_of(probe.caller)}
        )
        assert response.status_code == 200, response.text
        tally.check(probe, [c["doc_id"] for c in response.json()["citations"]])
    tally.assert_none_leaked("API /v1/chat/completions")


# --- Slack -------------------------------------------------------------------------------------


class SlackDriver:
    """Slack's side: signed mention events to the bot's HTTP endpoint, replies read back."""

    def __init__(self, http: TestClient, slack: FakeSlack) -> None:
        self.http = http
        self.slack = slack
        self._ts = 1000

    def ask(self, text: str) -> tuple[str, str]:
        """Mention the bot with `text`; the graph thread id and the text of its reply."""
        self._ts += 1
        ts = f"{self._ts}.000100"
        event = {"type": "app_mention", "channel": "C0SUPPORT", "user": "U0CUSTOMER"}
        body = event_body({**event, "text": f"<@{BOT_USER}> {text}", "ts": ts, "event_ts": ts})
        headers = signed_headers(body, content_type="application/json")
        assert self.http.post(EVENTS_PATH, content=body, headers=headers).status_code == 200
        reply = self.slack.wait_for(channel="C0SUPPORT", thread_ts=ts)
        return f"slack:{TEAM}:C0SUPPORT:{ts}", reply.text_of_blocks()


@pytest.mark.parametrize("caller", TENANTS)
def test_the_slack_tenant_setting_scopes_the_bot_whatever_the_question(
    settings: Settings,
    kb: KnowledgeStore,
    corpora: Corpora,
    probes: list[Probe],
    caller: str,
) -> None:
    settings.slack_tenant = caller
    settings.slack_bot_token = SecretStr("xoxb-test-token")
    settings.slack_signing_secret = SecretStr(SIGNING_SECRET)
    assistant = assistant_over(settings, kb)
    others = [p for p in sample(probes, per_doc=1) if p.caller == caller][::2]
    foreign = {d["doc_id"] for t, docs in corpora.docs.items() if t != caller for d in docs}
    cited, searched = Tally(corpora), Tally(corpora)
    with fake_slack() as slack:
        settings.slack_api_url = slack.url
        with (
            SlackBot.open(assistant, settings) as bot,
            TestClient(http_app(build_app(bot, settings))) as http,
        ):
            driver = SlackDriver(http, slack)
            for probe in others:
                thread_id, shown = driver.ask(probe.text)
                state = assistant.thread_values(thread_id, tenant=caller, via="slack")
                answer: Answer = state["answer"]
                assert answer.outcome is Outcome.ANSWERED, answer
                cited.check(probe, [c.doc_id for c in answer.citations])
                searched.check(probe, *retrieved(assistant, thread_id, caller, "slack"))
                # Nothing of the other tenant in what the customer reads either.
                assert not [d for d in foreign if d in shown], shown
    assistant.checkpointer.conn.close()  # type: ignore[attr-defined]
    cited.assert_none_leaked(f"Slack ({caller}) citations")
    searched.assert_none_leaked(f"Slack ({caller}) retrieved chunks")
