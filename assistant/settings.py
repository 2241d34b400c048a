"""Every setting of the assistant, in one class.

Values come from (highest first) explicit arguments, environment variables with the
``ASSISTANT_`` prefix, a ``.env`` file in the working directory, then the defaults below.
``QDRANT_URL`` and ``QDRANT_API_KEY`` are also read without the prefix, as Qdrant's own
tooling names them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from platformdirs import user_cache_path, user_data_path
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from assistant.kinds import EmbedderBackend, SearchMode

APP_NAME = "hybrid-assistant"


def _shipped_adapters_dir() -> Path:
    # The artifacts trained in this repository live in `adapters/` at its top; a wheel carries
    # them inside the package as `assistant/shipped_adapters` (pyproject's force-include).
    packaged = Path(__file__).parent / "shipped_adapters"
    return packaged if packaged.is_dir() else Path(__file__).parents[1] / "adapters"


SHIPPED_ADAPTERS_DIR = _shipped_adapters_dir()

Backend = Literal["embedded", "openai"]
StoreEngineName = Literal["edge", "local"]


def _data_dir() -> Path:
    return user_data_path(APP_NAME)


def check_judge_bands(answer_at: float | None, confident_at: float | None) -> None:
    """``ValueError`` unless the turn answers plainly no lower than it answers at all."""
    if answer_at is not None and confident_at is not None and confident_at < answer_at:
        raise ValueError(
            f"judge_confident_at ({confident_at}) is below judge_answer_at ({answer_at}): a "
            "turn answers plainly only where it answers at all (ASSISTANT_JUDGE_CONFIDENT_AT "
            ">= ASSISTANT_JUDGE_ANSWER_AT)"
        )


def _check_rate_limit(spec: str) -> None:
    from limits import parse_many

    try:
        parse_many(spec)
    except ValueError:
        raise ValueError(
            f"{spec!r} is not a rate limit: write e.g. '60/minute' or '10/second;500/hour'"
        ) from None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- generation -----------------------------------------------------------------
    backend: Backend = Field(
        "embedded",
        description="`embedded`: the packaged SmolLM2 in-process; `openai`: a vLLM/OpenAI server.",
    )
    model_path: Path | None = Field(
        None,
        description="Embedded backend: a Hugging Face model folder. Unset = the packaged "
        "SmolLM2-135M-Instruct GGUF, converted once into `cache_dir`.",
    )
    base_url: str = Field(
        "http://127.0.0.1:8000/v1", description="OpenAI-compatible server (vLLM) base URL."
    )
    api_key: SecretStr = Field(SecretStr("EMPTY"), description="Key for the model server.")
    model_name: str = Field(
        "smollm2-135m-instruct", description="Served name of the base model on the server."
    )
    adapters_dir: Path = Field(
        SHIPPED_ADAPTERS_DIR,
        description="Folder of LoRA adapters (name -> subfolder). Default: the adapters this "
        "project ships (`adapters/`).",
    )
    heads_dir: Path | None = Field(
        None,
        description="Folder of the fitted router and judge heads (`router/`, `judge/`). "
        "Unset = the adapters folder.",
    )
    judge_dir: Path | None = Field(
        None,
        description="Folder of the judge's heads (`turn/`, `chunk/`, `clarify/`), e.g. one "
        "refitted from the team's log (`assistant adapters fit-judge --from-log`). Unset = "
        "HEADS_DIR/judge.",
    )
    max_new_tokens: int = Field(160, ge=1, le=4096)
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 = greedy.")
    request_timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10, description="Retries with backoff per model call.")
    torch_threads: int | None = Field(
        None,
        ge=1,
        description="Threads of torch for the in-process models, the embedded chat model and "
        "the embedder (unset = torch's default).",
    )

    # --- retrieval ------------------------------------------------------------------
    qdrant_url: str | None = Field(
        None,
        validation_alias=AliasChoices("ASSISTANT_QDRANT_URL", "QDRANT_URL", "qdrant_url"),
        description="Qdrant server URL. Unset = Qdrant local mode on disk at `qdrant_path`.",
    )
    qdrant_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "ASSISTANT_QDRANT_API_KEY", "QDRANT_API_KEY", "qdrant_api_key"
        ),
    )
    qdrant_timeout_s: int = Field(
        10, ge=1, description="Qdrant server request timeout; also bounds the start-up check."
    )
    qdrant_path: Path = Field(
        default_factory=lambda: _data_dir() / "qdrant",
        description="The embedded index's folder. Unset = `qdrant` in `data_dir`, so one "
        "ASSISTANT_DATA_DIR holds the index, the threads and the interaction log.",
    )
    store_engine: StoreEngineName = Field(
        "edge",
        description="The embedded engine when QDRANT_URL is unset: `edge` (Qdrant Edge in "
        "process) or `local` (qdrant-client's local mode: scans every point per query; for "
        "platforms without a Qdrant Edge wheel).",
    )
    qdrant_shards: int | None = Field(
        None, ge=1, description="Server in distributed mode: shards of a new collection."
    )
    qdrant_replication_factor: int | None = Field(
        None, ge=1, description="Server in distributed mode: copies of each shard."
    )
    collection: str = "knowledge_base"
    embedder: str = Field(
        "packaged:all-MiniLM-L6-v2",
        description="`packaged:all-MiniLM-L6-v2` (shipped in a PyPI package) or a path to any "
        "sentence-transformers model folder.",
    )
    embedder_backend: EmbedderBackend = Field(
        "auto",
        description="What runs the embedder: `onnx` its ONNX export on onnxruntime (exported "
        "once into `cache_dir`, checked against the model; a command starts ~4 s sooner "
        "without torch), `torch` sentence-transformers, `auto` `onnx` where the model exports "
        "and onnxruntime is installed, else `torch` (a log line says why).",
    )
    embed_batch_size: int = Field(32, ge=1)
    search_mode: SearchMode = "hybrid"
    top_k: int = Field(5, ge=1, le=100)
    tenant: str = Field("default", min_length=1, description="Tenant applied to every query.")
    chunk_max_chars: int = Field(1200, ge=200)
    knowledge_domains: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="The team's own domains (comma-separated: `cloudnest.com,cloudnest.help`). "
        "At ingest a sentence that sends the reader to write to, sign in or pay at an address "
        "outside these and the documents' own URLs is flagged as an injected instruction and "
        "never quoted; empty (and no URLs) turns that one rule off.",
    )

    # --- ingesting from the web (`assistant ingest URL`, `--zendesk`) ---------------
    crawl_user_agent: str = Field(
        "hybrid-assistant-crawler/1.0",
        min_length=1,
        description="User agent of the crawler's requests, and the one robots.txt rules match.",
    )
    crawl_delay_s: float = Field(
        1.0,
        ge=0.0,
        description="Seconds between two requests to a site (a robots.txt Crawl-delay that "
        "asks for more wins).",
    )
    crawl_max_pages: int = Field(
        500, ge=1, description="Pages one crawl fetches at most (a sitemap's or a start URL's)."
    )
    crawl_timeout_s: float = Field(30.0, gt=0, description="Timeout of one HTTP request.")
    crawl_max_delay_s: float = Field(
        10.0,
        ge=0.0,
        description="Upper bound on a robots.txt Crawl-delay: a site asking for more is "
        "crawled this many seconds apart, so one line of robots.txt cannot stall a crawl.",
    )
    crawl_max_response_mb: float = Field(
        50.0,
        gt=0,
        description="Decompressed bytes (MB) read of one page, sitemap or API answer; more "
        "is a per-URL error. 50 MB is the sitemap protocol's own limit.",
    )
    crawl_max_redirects: int = Field(
        5, ge=0, description="Redirect hops one request follows (each checked first)."
    )
    crawl_allow_private_addresses: bool = Field(
        False,
        description="Let the crawler fetch hosts that resolve to private, loopback or "
        "link-local addresses (an intranet help center, tests on loopback). Off: such an "
        "address is refused, so a crawl cannot reach internal services.",
    )
    zendesk_max_pages: int = Field(
        200,
        ge=1,
        description="Pages (of up to 100 articles) read from one Zendesk list endpoint; a "
        "`next_page` chain longer than this stops with an error.",
    )

    # --- reading files (`assistant ingest`, uploads) ------------------------------
    ingest_zip_max_member_mb: float = Field(
        100.0,
        gt=0,
        description="Decompressed size (MB) of one part of a .docx; a larger part is refused "
        "before parsing.",
    )
    ingest_zip_max_total_mb: float = Field(
        200.0, gt=0, description="Decompressed size (MB) of all parts of a .docx together."
    )
    ingest_zip_max_ratio: float = Field(
        100.0,
        gt=1,
        description="Largest decompressed/compressed size ratio of a .docx part over 1 MB; "
        "Word's own parts compress 5-20 times, a zip bomb hundreds of times.",
    )
    ingest_pdf_max_pages: int = Field(
        2000, ge=1, description="Pages of a PDF; a longer PDF is refused before it is read."
    )
    ingest_parse_timeout_s: float = Field(
        120.0,
        gt=0,
        description="Seconds reading one PDF or Word file may take (it runs in a worker "
        "process that is stopped after this).",
    )
    ingest_parse_max_memory_mb: int = Field(
        2048,
        ge=256,
        description="Address space (MB) of the worker process that reads PDF and Word files; "
        "a file needing more is refused, the ingest goes on.",
    )
    zendesk_url: str = Field(
        "https://{subdomain}.zendesk.com",
        description="Base URL of a Zendesk Help Center; `{subdomain}` is `--zendesk`'s value.",
    )

    # --- the agent ------------------------------------------------------------------
    decision_margin: float = Field(
        0.25,
        ge=0.0,
        description="How much (calibrated log-likelihood) another step must beat `search` by "
        "to be chosen; 0.25 scored best on the dev messages with the packaged model.",
    )
    answer_mode: Literal["extractive", "generative"] = Field(
        "extractive",
        description="`extractive`: the model picks the passage sentence that answers; "
        "`generative`: it writes the answer (better with a bigger model on vLLM).",
    )
    router: Literal["fitted", "model"] = Field(
        "fitted",
        description="Decide step: `fitted` = the router head in HEADS_DIR/router (trained on "
        "real labels; falls back to `model` with a warning when missing); `model` = the "
        "calibrated constrained choice of the base model.",
    )
    small_talk: Literal["fitted", "model"] = Field(
        "fitted",
        description="Replies to small talk: `fitted` = the small-talk head in "
        "HEADS_DIR/small_talk picks the reply written for what the message is (a greeting, "
        "thanks, ...; falls back to `model` with a warning when missing); `model` = the model "
        "writes it (for a bigger model on vLLM).",
    )
    small_talk_whole: bool = Field(
        True,
        description="Decide step: reply to small talk only when the message is small talk as "
        "a whole (at most one word about anything else; a confident small-talk reading; a "
        "question about the assistant addresses it); `false` trusts the router's `reply` alone.",
    )
    small_talk_replies: Path | None = Field(
        None,
        description="YAML file of `intent: reply` lines (CLINC150 small-talk intents: "
        "greeting, thank_you, goodbye, are_you_a_bot, ...) replacing the default replies.",
    )
    judge: Literal["fitted", "cosine"] = Field(
        "fitted",
        description="Grade step: `fitted` = the answerability judge in HEADS_DIR/judge "
        "(falls back to `cosine` with a warning when missing); `cosine` = every chunk whose "
        "cosine with the query is at least `min_relevance`.",
    )
    clarify: bool = Field(
        True,
        description="Grade step, fitted judge: ask which one the customer means when its "
        "clarify head finds the question too vague to answer as asked.",
    )
    clarify_vague: bool = Field(
        True,
        description="Grade step, any judge: a conversation's first message of one or two "
        'words, or of only pronouns and words that name no thing ("it doesn\'t work"), is '
        "asked which of the pages its search found the customer means, before the judge "
        "reads it (which would decline it: such a message is close to no page). "
        "`clarify` false turns this off too.",
    )
    answer_sentences: int = Field(
        8,
        ge=1,
        le=20,
        description="Extractive mode: most passage sentences per answer, from the chunks the "
        "judgement kept; 1 = the model chooses the one sentence.",
    )
    answer_words: int = Field(
        80,
        ge=1,
        le=1000,
        description="Extractive mode: sentences are added until the answer has this many words "
        "(at most `answer_sentences` of them).",
    )
    max_rewrites: int = Field(
        0,
        ge=0,
        le=5,
        description="Query rewrites when nothing is relevant. 0 by default: the packaged model's "
        "rewrites found no answer the first search missed and gave the judge a second chance to "
        "pass an unanswerable question (README); raise it with a bigger model.",
    )
    judge_answer_at: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Grade step, fitted judge: the probability that the search answers (the "
        "judge's, calibrated) below which the turn declines. Unset = the judge's fitted value "
        "(90 % of answerable searches pass, out of fold).",
    )
    judge_confident_at: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Grade step, fitted judge: the probability at or above which the turn answers "
        "plainly; between `judge_answer_at` and this it answers with a hedge (it may not cover "
        "the question) and offers a person. Unset = the judge's fitted value (at most 10 % of "
        "unanswerable searches reach it, out of fold); equal to `judge_answer_at` = never hedge.",
    )
    model_judge: bool = Field(
        False,
        description="Grade step, on a model server (ASSISTANT_BACKEND=openai): also ask the "
        "served model, under a JSON schema, whether the passages the fitted judge kept answer; "
        "its no hedges a confident answer and declines a hedged one. Off by default: measure "
        "it with your model first (`assistant eval answers --compare fitted,model-judge`).",
    )
    model_judge_timeout_s: float = Field(
        10.0,
        gt=0,
        description="The model judge's time per search (no retries); past it, the fitted "
        "judge decides alone.",
    )
    min_relevance: float = Field(
        0.25,
        ge=-1.0,
        le=1.0,
        description="Dense cosine below which a chunk is not relevant: the cosine judge's gate, "
        "and the fitted judge's pre-filter (a search with no chunk this close is declined).",
    )
    no_answer_action: Literal["decline", "escalate"] = "decline"
    verify_citations: Literal["off", "flag", "remove"] = Field(
        "remove",
        description="Check each answer sentence against the chunks it cites: `flag` lists "
        "unsupported sentences in the answer, `remove` also drops them (an answer left with "
        "none is declined), `off` skips the check.",
    )
    citation_support_min: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Mean of lexical and embedding support below which a sentence is "
        "unsupported by what it cites.",
    )
    max_question_chars: int = Field(4000, ge=1)

    # --- triage (`assistant triage`, `triage-batch`, `/v1/triage`) ---------------------
    triage_policy: Path | None = Field(
        None,
        description="The triage policy file (categories, priorities, hand-over; see "
        "`adapters/policies/support.yaml`). Unset = the shipped general support policy, or "
        "the BANKING77 one for the `adapter` and `classifier` engines (the worked example the "
        "shipped adapter was trained on).",
    )
    triage_engine: Literal["auto", "adapter", "classifier", "zero-shot"] = Field(
        "auto",
        description="`zero-shot`: the nearest category description of the policy (no labels "
        "needed, milliseconds); `classifier`: the embeddings + logistic regression of "
        "`triage_classifier_dir` (fit-classifier); `adapter`: the LoRA adapter "
        "`triage_adapter`; `auto`: on a model server the adapter when it was trained on the "
        "policy in use, else zero-shot.",
    )
    triage_hand_over: Literal["offer", "perform", "off"] = Field(
        "offer",
        description="What the turn does with a triage reading that needs a human: `perform` "
        "hands over at once; `offer` answers from the documents when they answer, offers a "
        "person with the answer, and hands over instead of declining; `off` ignores it.",
    )
    triage_zero_shot_min_similarity: float = Field(
        0.25,
        ge=-1.0,
        le=1.0,
        description="`zero-shot` engine: below this cosine to every category's description "
        "and examples, a message is `out_of_scope` (when the policy has that category).",
    )
    triage_zero_shot_human_min_similarity: float = Field(
        0.4,
        ge=-1.0,
        le=1.0,
        description="`zero-shot` engine: a category that needs a human wins only this near; "
        "below it, the nearest category that needs none (a wrong hand-over costs a person's "
        "time, a wrong how-to reading nothing).",
    )
    triage_zero_shot_urgent_question_min_similarity: float = Field(
        0.4,
        ge=-1.0,
        le=1.0,
        description="`zero-shot` engine: for a message written as a question, a category of "
        "priority high or urgent wins only this near (cosine to one of its phrases); below it, "
        "the nearest other category (a how-to read at high priority jumps the queue).",
    )
    triage_zero_shot_asking_min_similarity: float = Field(
        0.55,
        ge=-1.0,
        le=1.0,
        description="`zero-shot` engine: for a question that only asks (how, when, can I...; "
        "no clause about the writer, no negation), a category that hands over or is of priority "
        'high or urgent wins only this near; below it, the nearest other category ("How long '
        "does a transfer take?\" is near a refund's words, and asks no one to act).",
    )
    triage_adapter: str = Field(
        "triage",
        min_length=1,
        description="The LoRA adapter the `adapter` engine asks; it must be trained on "
        "`triage_policy`.",
    )
    triage_classifier_dir: Path | None = Field(
        None,
        description="The folder `assistant adapters fit-classifier --out` wrote; needed by "
        "the `classifier` engine.",
    )
    triage_min_confidence: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="`classifier` engine: a reading whose top class is less probable than "
        "this goes to `triage_unsure` (0 = never).",
    )
    triage_unsure: Literal["human", "adapter"] = Field(
        "human",
        description="Where an unsure classifier reading goes: `human` keeps the category and "
        "marks it needs_human; `adapter` asks the LoRA adapter instead.",
    )

    # --- batch triage ---------------------------------------------------------------
    batch_concurrency: int = Field(
        8,
        ge=1,
        le=256,
        description="`triage-batch`: requests in flight against the model server (backend "
        "`openai`). The embedded model is not thread-safe and always runs one at a time.",
    )
    ray_address: str | None = Field(
        None,
        description="`triage-batch --ray` without an ADDRESS: the Ray cluster to join "
        "(`HOST:PORT` of its head, `ray://HOST:PORT`, or `auto`); unset: a Ray instance on "
        "this machine, started for the run.",
    )
    ray_workers: int = Field(
        1, ge=1, le=1024, description="`triage-batch --ray`: Ray Data workers (actors)."
    )
    ray_worker_cpus: float = Field(
        1.0,
        gt=0,
        description="`triage-batch --ray`: CPUs Ray reserves for each worker (its torch "
        "threads for the classifier's embedder).",
    )
    batch_block_rows: int = Field(
        256,
        ge=1,
        description="`triage-batch --ray`: input rows per block; each block is one task and "
        "one part file, the unit a rerun skips.",
    )
    ray_connect_timeout_s: float = Field(
        10.0, gt=0, description="`triage-batch --ray ADDRESS`: how long to try to reach it."
    )

    # --- HTTP API (`assistant serve`) ------------------------------------------------
    serve_host: str = Field("127.0.0.1", description="Address the API listens on.")
    # 8000 is vLLM's default port; the API and a local vLLM server often run side by side.
    serve_port: int = Field(8080, ge=1, le=65535, description="Port the API listens on.")
    serve_api_keys: dict[str, Annotated[str, Field(min_length=1)]] = Field(
        default_factory=dict,
        repr=False,
        description='API key -> tenant, as JSON (`{"key-a": "acme"}`). Every request '
        "is scoped to its key's tenant. Empty = the API is open and serves `tenant` to anyone "
        "(on a loopback address only, unless `serve_open`).",
    )
    serve_open: bool = Field(
        False,
        description="`assistant serve` and `assistant mcp --transport http` without API keys "
        "listen on a non-loopback address only when this says the API is meant to be open to "
        "whoever reaches it; otherwise they refuse to start.",
    )
    serve_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names a request's `Host` header may give besides the loopback names "
        "(localhost, 127.0.0.1, ::1), comma-separated: `api.example.com,*.example.org`; `*` "
        "allows any. Another Host gets 400 (DNS rebinding).",
    )
    serve_trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or networks of reverse proxies, comma-separated "
        "(`10.0.0.5,10.1.0.0/16`), whose `X-Forwarded-For` names the client; rate limits count "
        "that client. Unset = the connecting address is the client.",
    )
    serve_max_body_bytes: int = Field(
        256 * 1024, ge=1024, description="Largest JSON request body; larger ones get 413."
    )
    serve_max_upload_bytes: int = Field(
        20 * 1024 * 1024, ge=1024, description="Largest document upload (all files together)."
    )
    serve_max_triage_texts: int = Field(
        64, ge=1, description="Most texts one `POST /v1/triage` request may carry."
    )

    serve_rate_limit: str | None = Field(
        None,
        description='Requests each API key may make, in the `limits` notation ("60/minute", '
        '"10/second;500/hour"); over it, 429 with `Retry-After`. Unset = no limit.',
    )
    serve_rate_limits: dict[str, str] = Field(
        default_factory=dict,
        repr=False,
        description='Per-key limits that replace `serve_rate_limit`, as JSON (`{"key-a": '
        '"600/minute"}`); keys must be among `serve_api_keys`.',
    )
    serve_auth_failure_limit: str | None = Field(
        "5/minute;50/hour",
        description="Requests with a wrong or missing API key one client address may make "
        "(`limits` notation); past it, every request of that address that needs a key gets "
        "429 until the window passes, a right key included. Unset = no limit.",
    )
    serve_rate_limit_storage: SecretStr = Field(
        SecretStr("memory://"),
        description="Where rate-limit counts live, as a `limits` storage URI: `memory://` "
        "(this process) or `redis://host:6379` (shared by every replica; needs the `redis` "
        "extra).",
    )

    # --- MCP server (`assistant mcp`) -----------------------------------------------
    mcp_port: int = Field(
        8090, ge=1, le=65535, description="`assistant mcp --transport http`: port to listen on."
    )

    # --- Slack (`assistant slack`) --------------------------------------------------
    # The three secrets are also read under Slack's own names (SLACK_BOT_TOKEN, ...), as
    # Slack's tutorials and tooling set them.
    slack_bot_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "ASSISTANT_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN", "slack_bot_token"
        ),
        description="Bot token (`xoxb-...`) the bot posts with; both modes need it.",
    )
    slack_signing_secret: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "ASSISTANT_SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET", "slack_signing_secret"
        ),
        description="HTTP mode: proves a request comes from Slack (requests failing it get 401).",
    )
    slack_app_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "ASSISTANT_SLACK_APP_TOKEN", "SLACK_APP_TOKEN", "slack_app_token"
        ),
        description="Socket Mode: app-level token (`xapp-...`, scope `connections:write`).",
    )
    slack_escalation_channel: str | None = Field(
        None,
        description="Channel ID where hand-offs are posted; a human's reply in a hand-off's "
        "thread goes back to the customer. Unset = no escalate button.",
    )
    slack_tenant: str | None = Field(
        None, min_length=1, description="Tenant of Slack questions. Unset = `tenant`."
    )
    slack_api_url: str = Field(
        "https://slack.com/api/", description="Base URL of the Slack Web API (tests use a fake)."
    )
    # 3000 is Bolt's conventional port; it keeps clear of the API's 8080 on the same host.
    slack_port: int = Field(3000, ge=1, le=65535, description="HTTP mode: port to listen on.")

    # --- tracing --------------------------------------------------------------------
    otlp_endpoint: str | None = Field(
        None,
        description="OTLP/HTTP endpoint that receives OpenTelemetry traces of turns, graph "
        "nodes, model calls, searches and API requests (`http://collector:4318/v1/traces`). "
        "Unset = no tracing, at no cost.",
    )
    otel_service_name: str = Field(
        APP_NAME, min_length=1, description="`service.name` of the exported traces."
    )

    # --- experiment on live traffic ------------------------------------------------------
    experiment: Path | None = Field(
        None,
        description="An A/B experiment file (YAML: a name and two or more variants, each a "
        "weight and the turn's choices it overrides). Each new thread gets a variant from a "
        "hash of its id, logged with every turn and rating; `assistant report` compares them. "
        "Unset = no experiment.",
    )

    # --- state ----------------------------------------------------------------------
    data_dir: Path = Field(default_factory=_data_dir)
    threads_url: SecretStr | None = Field(
        None,
        description="PostgreSQL URL (`postgresql://user:pass@host:5432/db`) of a thread store "
        "that several API replicas share. Unset = SQLite in `data_dir`. Needs the `postgres` "
        "extra.",
    )
    thread_lock_timeout_s: float = Field(
        120.0,
        gt=0,
        description="How long a turn or a hand-over waits for another one on the same thread "
        "(in any replica) before failing with 503; a turn of a slow model takes up to a minute.",
    )
    thread_retention_days: int | None = Field(
        None,
        ge=1,
        description="Threads idle for longer than this many days are deleted (with their "
        "checkpoints) when the assistant opens, hourly after a turn, and by `assistant threads "
        "prune`. Unset = threads are kept until deleted (`DELETE /v1/threads/{id}`).",
    )
    cache_dir: Path = Field(default_factory=lambda: user_cache_path(APP_NAME))

    # --- interaction log (the adapters' flywheel) ---------------------------------------
    interaction_log: Literal["off", "jsonl", "sqlite"] = Field(
        "jsonl",
        description="Where every turn and rating is logged for `assistant adapters build-data "
        "--from-log`: `interactions.jsonl` or `interactions.sqlite` in `data_dir`; `off` logs "
        "nothing (ratings included).",
    )
    interaction_log_retention_days: int = Field(
        90,
        ge=0,
        description="Rows older than this many days are deleted when the log opens and hourly "
        "after; 0 keeps them for ever.",
    )
    interaction_log_redactor: str = Field(
        "assistant.interaction_log:redact_personal_data",
        pattern=r"^\s*$|^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$",
        description="`module:function` (str -> str) applied to all free text before it is "
        "logged. The default masks e-mails, IBANs, card and passport numbers and phone numbers "
        "(docs/security.md); empty = no redaction.",
    )

    @field_validator("knowledge_domains", mode="before")
    @classmethod
    def _split_domains(cls, value: object) -> object:
        if isinstance(value, str):
            return [d.strip().lower() for d in value.split(",") if d.strip()]
        return value

    @field_validator("serve_rate_limit")
    @classmethod
    def _parse_rate_limit(cls, value: str | None) -> str | None:
        if value is not None:
            _check_rate_limit(value)
        return value

    @field_validator("serve_auth_failure_limit")
    @classmethod
    def _parse_auth_failure_limit(cls, value: str | None) -> str | None:
        if value:
            _check_rate_limit(value)
        return value or None

    @field_validator("serve_allowed_hosts", "serve_trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        # An environment variable gives a comma-separated string; code gives a list.
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("serve_trusted_proxies")
    @classmethod
    def _parse_networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an address or a network: write e.g. '10.0.0.5' or "
                    "'10.1.0.0/16'"
                ) from None
        return value

    @field_validator("serve_rate_limits")
    @classmethod
    def _parse_rate_limits(cls, value: dict[str, str]) -> dict[str, str]:
        for spec in value.values():
            _check_rate_limit(spec)
        return value

    @model_validator(mode="after")
    def _index_in_the_data_folder(self) -> Settings:
        # A default_factory cannot read another field: moving the data folder moves the index
        # with it unless the index's folder was chosen on its own.
        if "qdrant_path" not in self.model_fields_set:
            self.qdrant_path = self.data_dir / "qdrant"
        return self

    @model_validator(mode="after")
    def _judge_bands_in_order(self) -> Settings:
        check_judge_bands(self.judge_answer_at, self.judge_confident_at)
        return self

    @model_validator(mode="after")
    def _rate_limited_keys_exist(self) -> Settings:
        # Reported without the keys themselves: they are secrets.
        unknown = len(set(self.serve_rate_limits) - set(self.serve_api_keys))
        if unknown:
            raise ValueError(
                f"{unknown} key(s) of serve_rate_limits are not among serve_api_keys "
                "(ASSISTANT_SERVE_RATE_LIMITS names keys of ASSISTANT_SERVE_API_KEYS)"
            )
        return self

    @property
    def checkpoint_path(self) -> Path:
        return self.data_dir / "threads.sqlite"

    @property
    def interaction_log_path(self) -> Path:
        """The interaction log: every turn and every rating (API, Slack), JSONL or SQLite."""
        suffix = "sqlite" if self.interaction_log == "sqlite" else "jsonl"
        return self.data_dir / f"interactions.{suffix}"

    @property
    def heads_folder(self) -> Path:
        """Where the fitted router, small-talk head and judge are read: `heads_dir`, else the
        adapters folder."""
        return self.heads_dir or self.adapters_dir

    @property
    def judge_folder(self) -> Path:
        """Where the judge's heads are read: `judge_dir`, else HEADS_DIR/judge."""
        return self.judge_dir or self.heads_folder / "judge"

    @property
    def slack_state_path(self) -> Path:
        """The Slack bot's own state: which hand-off thread belongs to which customer thread."""
        return self.data_dir / "slack.sqlite"
