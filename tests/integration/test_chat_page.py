"""The chat page in a real browser: headless Chromium against the real API, model and store.

Uses Debian's chromium and chromium-driver (`make system-packages`). The driver is named by
path, so Selenium Manager never runs and nothing is downloaded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from doubles import ScriptedChatModel, script
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from assistant.ingestion.ingest import ingest_paths
from assistant.interfaces.api.app import create_app
from assistant.knowledge.store import KnowledgeStore
from assistant.llm.embedded import EmbeddedChatModel
from assistant.llm.vllm_launcher import free_port
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer

CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMEDRIVER.exists(),
        reason=f"no {CHROMEDRIVER}: install Debian's chromium and chromium-driver "
        "(`make system-packages`, or `apt-get install chromium chromium-driver`)",
    ),
]

KEY, TENANT = "key-page", "acme"
REFUNDS_URL = "https://help.example.com/refunds"
QUESTION = "How long does a refund take to reach my card?"
HELP_CENTRE = [
    {
        "doc_id": "refunds",
        "title": "Refunds",
        "url": REFUNDS_URL,
        "text": "Refunds are paid back to the original card within five business days. "
        "Ask for a refund from the Orders page.",
    },
    {"doc_id": "shipping", "title": "Shipping", "text": "Parcels arrive in two to four days."},
    {
        "doc_id": "top-up",
        "title": "Top-ups",
        "text": "Top up your account with a card or a bank transfer from the Wallet page.",
    },
]
# A cold turn of the packaged model on one CPU thread, with the triage and escalation adapters.
ANSWER_TIMEOUT_S = 600
# Counts the changes to answer texts: more than one means tokens arrived as they were streamed.
COUNT_TEXT_UPDATES = """
window.textUpdates = 0;
new MutationObserver((records) => {
  for (const record of records) {
    if (record.target.matches && record.target.matches(".assistant .text")) window.textUpdates++;
  }
}).observe(document.getElementById("log"), {subtree: true, childList: true});
"""


@dataclass(frozen=True)
class Served:
    url: str
    assistant: Assistant


@pytest.fixture
def served(
    settings: Settings, store: KnowledgeStore, chat_model: EmbeddedChatModel, tmp_path: Path
) -> Iterator[Served]:
    """The API under uvicorn on a free loopback port: the packaged model and adapters, a small
    help centre ingested for the key's tenant."""
    settings.serve_api_keys = {KEY: TENANT}
    corpus = tmp_path / "help.jsonl"
    corpus.write_text("".join(json.dumps(doc) + "\n" for doc in HELP_CENTRE), encoding="utf-8")
    report = ingest_paths([corpus], store, tenant=TENANT, max_chars=settings.chunk_max_chars)
    assert report.docs == len(HELP_CENTRE) and not report.errors, report

    checkpointer = open_checkpointer(settings.checkpoint_path)
    assistant = Assistant(settings, store=store, model=chat_model, checkpointer=checkpointer)
    with serving(settings, assistant) as url:
        yield Served(url=url, assistant=assistant)
    checkpointer.conn.close()


@contextmanager
def serving(settings: Settings, assistant: Assistant) -> Iterator[str]:
    """The API over `assistant` under uvicorn on a free loopback port; yields its URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, assistant=assistant), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # as root in a container, Chromium's sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def send(browser: WebDriver, message: str) -> None:
    box = browser.find_element(By.ID, "message")
    box.clear()
    box.send_keys(message)
    browser.find_element(By.ID, "send").click()


def last_turn_settled(browser: WebDriver) -> bool:
    """Whether the latest assistant turn has its final answer or an error."""
    turns = browser.find_elements(By.CSS_SELECTOR, ".turn.assistant")
    if not turns:
        return False
    last = turns[-1]
    return "done" in (last.get_attribute("class") or "") or bool(
        last.find_elements(By.CSS_SELECTOR, ".error")
    )


def test_a_visitor_asks_sees_the_streamed_cited_answer_and_hands_over_to_a_human(
    served: Served, browser: WebDriver
) -> None:
    browser.get(served.url + "/")
    wait = WebDriverWait(browser, 30)

    send(browser, QUESTION)  # no key yet
    wait.until(last_turn_settled)
    error = browser.find_element(By.CSS_SELECTOR, ".turn.assistant .error").text
    assert "missing API key" in error

    browser.find_element(By.ID, "api-key").send_keys(KEY)
    browser.execute_script(COUNT_TEXT_UPDATES)
    send(browser, QUESTION)
    WebDriverWait(browser, ANSWER_TIMEOUT_S).until(last_turn_settled)
    turn = browser.find_elements(By.CSS_SELECTOR, ".turn.assistant")[-1]
    assert not turn.find_elements(By.CSS_SELECTOR, ".error"), turn.text

    assert "five business days" in turn.find_element(By.CSS_SELECTOR, ".text").text
    assert browser.execute_script("return window.textUpdates") > 1
    citations = turn.find_elements(By.CSS_SELECTOR, ".citation")
    assert [c.get_attribute("data-n") for c in citations] == ["1"]
    assert citations[0].text.startswith("[1] Refunds")
    link = citations[0].find_element(By.TAG_NAME, "a")
    assert link.get_attribute("href") == REFUNDS_URL
    assert turn.find_element(By.CSS_SELECTOR, ".outcome").text == "Outcome: answered"
    triage = turn.find_element(By.CSS_SELECTOR, ".triage").text
    assert triage.startswith("Triage: ") and " priority · " in triage

    thread_id = browser.find_element(By.ID, "thread-id").text
    assert served.assistant.thread_values(thread_id, tenant=TENANT)["question"] == QUESTION

    escalate = browser.find_element(By.ID, "escalate")
    assert escalate.is_enabled()
    escalate.click()
    handoff = WebDriverWait(browser, 60).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, ".handoff")
    )[0]
    assert "Handed to a human (you asked for a person)" in handoff.text
    assert QUESTION in handoff.find_element(By.CSS_SELECTOR, ".summary").text
    assert not escalate.is_enabled()
    assert served.assistant.waiting_for_human(thread_id, tenant=TENANT)

    browser.refresh()  # the key is kept in the browser's local storage
    assert browser.find_element(By.ID, "api-key").get_attribute("value") == KEY


def test_a_visitor_over_the_keys_rate_limit_is_told_to_wait_and_for_how_long(
    settings: Settings, store: KnowledgeStore, browser: WebDriver, tmp_path: Path
) -> None:
    settings.serve_api_keys = {KEY: TENANT}
    settings.serve_rate_limit = "1/minute"
    settings.adapters_dir = tmp_path / "no-adapters"  # the scripted model has no adapters
    model = ScriptedChatModel(respond=script("search"))
    checkpointer = open_checkpointer(settings.checkpoint_path)
    assistant = Assistant(settings, store=store, model=model, checkpointer=checkpointer)
    with serving(settings, assistant) as url:
        browser.get(url + "/")
        browser.find_element(By.ID, "api-key").send_keys(KEY)
        send(browser, QUESTION)
        WebDriverWait(browser, 60).until(last_turn_settled)
        send(browser, QUESTION)
        WebDriverWait(browser, 60).until(
            lambda b: len(b.find_elements(By.CSS_SELECTOR, ".turn.assistant .error")) == 1
        )
        error = browser.find_element(By.CSS_SELECTOR, ".turn.assistant .error").text
    checkpointer.conn.close()
    assert error.startswith("Too many requests for this API key: wait ")
    assert error.endswith(" s, then send again.")
