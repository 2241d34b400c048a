"""Does an `answer` LoRA, trained on MTRAG-UN reference answers, write better answers than the
extractive default or the base model? (issue 14, item 4)

Trained on the behaviour tasks (clapnq, fiqa: their answerable searches, the gold chunks and the
best other one, cut to `--cut` characters), scored on 30 answerable support dev questions
(govt, ibmcloud: domains it never saw) over the chunks each fold's chunk head keeps. The prompt
is the graph's GENERATE prompt; the target is the reference answer with each sentence ending in
the marker of its closest passage. Every variant reads the same cut passages.

    python experiments/answer_adapter_experiment.py --examples out/reader/examples.pkl \
        --heads 'out/folds/{fold}/judge' --out out/answer-adapter

`--examples`: the judge examples' cache of `reader_experiment.py` (both task files, searched
once); `--heads`: the judge folders of the five-fold loop of adapters/README.md.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from reader_experiment import DATA
from reader_experiment import examples as judge_examples
from transformers import AutoModelForCausalLM, AutoTokenizer

from assistant.evaluation.datasets import Fold, load_support_qa
from assistant.evaluation.metrics import token_f1
from assistant.graph import prompts
from assistant.knowledge.embedder import load_embedder
from assistant.llm.packaged import converted_folder
from assistant.schemas import RetrievedChunk
from assistant.settings import Settings
from assistant.turn.citations import MARKER
from assistant.turn.evidence import EvidenceReader
from assistant.turn.extraction import extractive_answer
from assistant.turn.heads import load_head
from assistant.turn.sentences import split_sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=Path, required=True)
    parser.add_argument("--heads", required=True, help="judge folder per fold, with {fold}")
    parser.add_argument("--out", type=Path, default=Path("out/answer-adapter"))
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--cut", type=int, default=500)
    parser.add_argument("--max-length", type=int, default=600)
    parser.add_argument("--questions", type=int, default=30)
    args = parser.parse_args()

    torch.manual_seed(0)
    random.seed(0)
    torch.set_num_threads(2)
    settings = Settings()
    embedder = load_embedder(settings.embedder)
    reader = EvidenceReader(embedder)
    tokenizer = AutoTokenizer.from_pretrained(converted_folder(settings))
    found = judge_examples(args.examples)
    refs: dict[tuple[str, str], str] = {}
    for name in ("behaviour_tasks.jsonl", "support_qa_dev.jsonl"):
        for q in load_support_qa(DATA / name):
            refs[(q.conversation, q.question)] = q.answer or ""

    def prompt_text(question: str, texts: list[str]) -> str:
        passages = prompts.format_passages([("", t[: args.cut]) for t in texts])
        messages = [
            {"role": "system", "content": prompts.SYSTEM},
            {
                "role": "user",
                "content": prompts.GENERATE.format(passages=passages, question=question),
            },
        ]
        return str(
            tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        )

    def target(answer: str, texts: list[str]) -> str | None:
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", answer.strip()) if s]
        if not sentences:
            return None
        vectors = embedder.embed_documents([*sentences, *[t[: args.cut] for t in texts]])
        said, passages = vectors[: len(sentences)], vectors[len(sentences) :]
        return " ".join(
            f"{s.rstrip()} [{int(np.argmax(passages @ v)) + 1}]"
            for s, v in zip(sentences, said, strict=True)
        )

    train = []
    for e in found["behaviour"]:
        if e.kind != "answerable":
            continue
        gold = [j for j, y in enumerate(e.chunk_labels) if y]
        other = [j for j, y in enumerate(e.chunk_labels) if not y][:1]
        texts = [e.chunk_texts[j] for j in sorted(gold[:2] + other)]
        if t := target(refs[(e.conversation, e.question)], texts):
            train.append((prompt_text(e.question, texts), t + tokenizer.eos_token))

    def encode(prompt: str, reply: str) -> tuple[list[int], list[int]]:
        a = tokenizer(prompt, add_special_tokens=False).input_ids
        b = tokenizer(reply, add_special_tokens=False).input_ids
        return (a + b)[: args.max_length], ([-100] * len(a) + b)[: args.max_length]

    model: Any = AutoModelForCausalLM.from_pretrained(
        converted_folder(settings), dtype=torch.float32
    )
    adapter_dir = args.out / "answer"
    if not (adapter_dir / "adapter_config.json").exists():
        lora = LoraConfig(
            r=8,
            lora_alpha=16,
            lora_dropout=0.05,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lora)
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=args.learning_rate)
        # Examples whose reference does not fit whole are left out, not cut.
        data = [
            x
            for x in (encode(p, t) for p, t in train)
            if x[1][-1] != -100 and len(x[0]) < args.max_length
        ]
        print(f"{len(train)} training examples, {len(data)} fit", flush=True)
        batch_size, steps, started = 4, 0, time.time()
        pad = tokenizer.pad_token_id or 0
        model.train()
        for _ in range(args.epochs):
            order = list(range(len(data)))
            random.shuffle(order)
            for s in range(0, len(order), batch_size):
                batch = [data[i] for i in order[s : s + batch_size]]
                width = max(len(x[0]) for x in batch)
                ids = torch.tensor([x[0] + [pad] * (width - len(x[0])) for x in batch])
                labels = torch.tensor([x[1] + [-100] * (width - len(x[1])) for x in batch])
                mask = torch.tensor([[1] * len(x[0]) + [0] * (width - len(x[0])) for x in batch])
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                steps += 1
                if steps % 5 == 0:
                    elapsed = time.time() - started
                    print(f"step {steps} loss {loss.item():.3f} {elapsed:.0f}s", flush=True)
        model.save_pretrained(adapter_dir)
    else:
        model = PeftModel.from_pretrained(model, adapter_dir)
    model.eval()

    folds = [Fold(index=i, of=5) for i in range(1, 6)]
    heads = {
        f.index: load_head(
            Path(args.heads.format(fold=f.index)) / "chunk", "judge", embedder=embedder.name
        )
        for f in folds
    }
    scored = [e for e in found["support"] if e.kind == "answerable"]
    random.Random(0).shuffle(scored)

    @torch.no_grad()
    def generate(prompt: str, adapter: bool) -> str:
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
        # The base model is the same weights with the adapter switched off.
        with nullcontext() if adapter else model.disable_adapter():
            out = model.generate(ids, max_new_tokens=120, do_sample=False, repetition_penalty=1.1)
        return str(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)).strip()

    rows: dict[str, list[dict[str, Any]]] = {"extractive": [], "base": [], "answer adapter": []}
    for e in scored[: args.questions]:
        head = heads[next(f.index for f in folds if f.holds(e.conversation))]
        relevance = head.probabilities(e.features)[:, 1]
        kept = sorted(
            {
                int(np.argmax(relevance)),
                *[j for j, p in enumerate(relevance) if p >= head.threshold],
            }
        )
        texts = [e.chunk_texts[j][: args.cut] for j in kept]
        gold = [bool(e.chunk_labels[j]) for j in kept]
        chunks = [
            RetrievedChunk(chunk_id=f"c{j}", doc_id=f"d{j}", tenant="t", text=t, score=1.0)
            for j, t in enumerate(texts)
        ]
        evidence = reader.read(e.question, e.context, chunks)
        prompt = prompt_text(e.question, texts)
        drafts = {
            "extractive": extractive_answer(
                evidence, settings.answer_sentences, settings.answer_words
            ),
            "base": generate(prompt, adapter=False),
            "answer adapter": generate(prompt, adapter=True),
        }
        for name, text in drafts.items():
            cites = [int(m) for m in MARKER.findall(text) if 1 <= int(m) <= len(kept)]
            sentences = split_sentences(text)
            rows[name].append(
                {
                    "f1": token_f1(MARKER.sub("", text), refs[(e.conversation, e.question)]),
                    "precision": statistics.fmean(gold[c - 1] for c in cites) if cites else None,
                    "marked": sum(bool(MARKER.search(s)) for s in sentences) / len(sentences)
                    if sentences
                    else 0.0,
                    "words": len(MARKER.sub("", text).split()),
                    "text": text,
                }
            )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "answers.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print("| variant | token F1 | citation precision | answers citing | sentences with a marker |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, answers in rows.items():
        precisions = [x["precision"] for x in answers if x["precision"] is not None]
        print(
            f"| {name} | {statistics.fmean(x['f1'] for x in answers):.3f} "
            f"| {statistics.fmean(precisions) if precisions else 0.0:.3f} "
            f"| {len(precisions)}/{len(answers)} "
            f"| {statistics.fmean(x['marked'] for x in answers):.2f} |"
        )


if __name__ == "__main__":
    main()
