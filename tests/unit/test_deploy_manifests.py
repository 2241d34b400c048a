"""The compose file and the Kubernetes manifests stay true to the code, without Docker.

They parse; every variable they hand the assistant is a real setting; every image is pinned;
the ports and probes are the ones the code serves; vLLM gets the command
`assistant.llm.vllm_launcher` would build for the same model and adapters.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from assistant.errors import InputError
from assistant.interfaces.api.app import create_app
from assistant.interfaces.api.exposure import PLACEHOLDER_KEY, check_exposure
from assistant.llm.packaged import converted_folder
from assistant.llm.registry import AdapterRegistry, vllm_lora_args
from assistant.llm.vllm_launcher import ServeConfig, vllm_command
from assistant.settings import SHIPPED_ADAPTERS_DIR, Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
K8S = sorted((DEPLOY / "k8s").glob("*.yaml"))
ASSISTANT_IMAGE = "hybrid-assistant:"
# An explicit version tag (with a digit) or a digest: never `latest`, never a bare name.
PINNED = re.compile(r"^[\w./-]+(:[\w.-]*\d[\w.-]*|@sha256:[0-9a-f]{64})$")


def setting_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice for choice in alias.choices if isinstance(choice, str)}
        names.add(f"ASSISTANT_{name.upper()}")
    return {name for name in names if name.isupper()}


def k8s_documents() -> list[dict[str, Any]]:
    return [doc for path in K8S for doc in yaml.safe_load_all(path.read_text()) if doc]


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def k8s_containers() -> Iterator[dict[str, Any]]:
    for doc in k8s_documents():
        pod = doc.get("spec", {}).get("template", {}).get("spec", {})
        yield from pod.get("initContainers", [])
        yield from pod.get("containers", [])


def k8s_named(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in k8s_documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def container(deployment: dict[str, Any], name: str) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == name)


def test_every_manifest_parses_and_names_its_kind() -> None:
    assert compose()["services"]
    kinds = {doc["kind"] for doc in k8s_documents()}
    expected = {"Deployment", "StatefulSet", "Service", "HorizontalPodAutoscaler", "ConfigMap"}
    assert expected <= kinds
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (DEPLOY / "k8s" / resource).exists(), resource


def test_every_variable_given_to_the_assistant_is_a_setting() -> None:
    known = setting_names()
    given: dict[str, str] = {}
    for name, service in compose()["services"].items():
        if service["image"].startswith(ASSISTANT_IMAGE):
            given |= {var: f"compose {name}" for var in service.get("environment", {})}
    for item in k8s_containers():
        if item["image"].startswith(ASSISTANT_IMAGE):
            given |= {env["name"]: f"k8s {item['name']}" for env in item.get("env", [])}
    for doc in k8s_documents():
        if doc["kind"] in ("ConfigMap", "Secret"):
            data = doc.get("data", {}) | doc.get("stringData", {})
            given |= {var: f"k8s {doc['metadata']['name']}" for var in data}
    secret = yaml.safe_load((DEPLOY / "k8s" / "secret.example.yaml").read_text())
    given |= {var: "k8s secret.example" for var in secret["stringData"]}
    assert len(given) > 10
    unknown = {var: where for var, where in given.items() if var not in known}
    assert not unknown, f"not settings of assistant/settings.py: {unknown}"


def test_every_secret_key_the_pods_read_is_in_the_example_secret() -> None:
    secret = yaml.safe_load((DEPLOY / "k8s" / "secret.example.yaml").read_text())
    for item in k8s_containers():
        for env in item.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["name"] == secret["metadata"]["name"]
                assert ref["key"] in secret["stringData"], ref


def test_every_image_is_pinned() -> None:
    images = [service["image"] for service in compose()["services"].values()]
    images += [item["image"] for item in k8s_containers()]
    images += re.findall(r"^FROM\s+(\S+)", (DEPLOY / "Dockerfile").read_text(), re.M)
    assert len(images) > 8
    unpinned = [image for image in images if not PINNED.match(image) or ":latest" in image]
    assert not unpinned


def test_the_api_port_and_probes_are_the_ones_it_serves() -> None:
    port = Settings(_env_file=None).serve_port  # type: ignore[call-arg]
    paths = create_app(Settings(_env_file=None)).openapi()["paths"]  # type: ignore[call-arg]
    assert {"/healthz", "/readyz"} <= set(paths)

    api = compose()["services"]["api"]
    assert api["ports"] == [f"{port}:{port}"]
    assert f"127.0.0.1:{port}/readyz" in " ".join(api["healthcheck"]["test"])
    assert f"EXPOSE {port}" in (DEPLOY / "Dockerfile").read_text()

    deployment = container(k8s_named("Deployment", "api"), "api")
    assert deployment["ports"][0]["containerPort"] == port
    assert deployment["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
    assert deployment["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
    service = k8s_named("Service", "api")
    assert service["spec"]["ports"][0]["targetPort"] == port
    hpa = k8s_named("HorizontalPodAutoscaler", "api")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "api"


def expected_vllm_args() -> list[str]:
    """What `python -m assistant.llm.vllm_launcher --device gpu --host 0.0.0.0` runs for the image's
    model folder and the shipped adapters, without the `python -m module` prefix."""
    shipped = AdapterRegistry(SHIPPED_ADAPTERS_DIR).servable()
    assert set(shipped) == {"triage", "escalation"}
    settings = Settings(_env_file=None, cache_dir=Path("/cache"))  # type: ignore[call-arg]
    config = ServeConfig(
        model_dir=converted_folder(settings),
        adapters=tuple(
            shipped[n].model_copy(update={"folder": Path("/adapters") / n})
            for n in ("triage", "escalation")
        ),
        device="gpu",
        host="0.0.0.0",
    )
    return vllm_command(config)[3:]


@pytest.mark.parametrize("where", ["compose", "k8s"])
def test_vllm_gets_the_command_the_project_builds(where: str) -> None:
    if where == "compose":
        service = compose()["services"]["vllm"]
        args, probe = service["command"], " ".join(service["healthcheck"]["test"])
        assert "127.0.0.1:8000/health" in probe
    else:
        vllm = container(k8s_named("Deployment", "vllm"), "vllm")
        args = vllm["args"]
        assert vllm["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8000}
        assert vllm["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert args == expected_vllm_args()


def test_the_model_prep_step_writes_where_vllm_reads() -> None:
    settings = Settings(_env_file=None, cache_dir=Path("/cache"))  # type: ignore[call-arg]
    folder = str(converted_folder(settings))
    prep = compose()["services"]["model-prep"]
    assert prep["environment"]["ASSISTANT_CACHE_DIR"] == "/cache"
    assert "--prepare-only" in prep["command"]
    assert compose()["services"]["vllm"]["command"][1] == folder
    init = k8s_named("Deployment", "vllm")["spec"]["template"]["spec"]["initContainers"][0]
    assert init["env"] == [{"name": "ASSISTANT_CACHE_DIR", "value": "/cache"}]
    assert "--prepare-only" in init["command"]


def test_every_rank_bound_the_docs_give_vllm_is_the_one_the_code_generates() -> None:
    args = vllm_lora_args(AdapterRegistry(SHIPPED_ADAPTERS_DIR).adapters(), max_loras=2)
    generated = args[args.index("--max-lora-rank") + 1]
    pages = [*(DEPLOY.parent / "docs").glob("*.md"), DEPLOY / "README.md"]
    given = {
        (page.name, rank)
        for page in pages
        for rank in re.findall(r"--max-lora-rank[ =](\d+)", page.read_text(encoding="utf-8"))
    }
    assert given, "no page gives --max-lora-rank"
    assert {rank for _, rank in given} == {generated}, sorted(given)


# --- closed by default: the API keys are required, the placeholder is refused ----------------

# Compose's interpolation (https://docs.docker.com/compose/how-tos/environment-variables/
# variable-interpolation/): ${VAR}, ${VAR:-default}, ${VAR:?error}; `docker compose config`
# is not run here (no Docker in the test environment).
INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}")


class MissingVariable(Exception):
    pass


def interpolate(value: str, env: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        given = env.get(name, "")
        if given:
            return given
        if operator == ":?":
            raise MissingVariable(f"required variable {name} is missing a value: {argument}")
        return argument

    return INTERPOLATION.sub(one, value)


def example_env() -> dict[str, str]:
    lines = (DEPLOY / "compose" / "example.env").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if "=" in line and not line.startswith("#")]
    return {name: value for name, value in pairs}


def test_compose_without_api_keys_fails_naming_the_variable() -> None:
    env = example_env()
    del env["ASSISTANT_SERVE_API_KEYS"]
    keys = compose()["services"]["api"]["environment"]["ASSISTANT_SERVE_API_KEYS"]
    with pytest.raises(MissingVariable, match="ASSISTANT_SERVE_API_KEYS") as refused:
        interpolate(keys, env)
    assert "ASSISTANT_SERVE_API_KEYS" in str(refused.value).split(":", 1)[1]  # the message too


def api_settings(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings the API's container reads from `environment`, as its process would."""
    for name in [name for name in os.environ if name.startswith("ASSISTANT_")]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        if name.startswith("ASSISTANT_SERVE_"):
            monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_example_files_placeholder_key_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compose_env = {
        name: interpolate(str(value), example_env())
        for name, value in compose()["services"]["api"]["environment"].items()
    }
    secret = yaml.safe_load((DEPLOY / "k8s" / "secret.example.yaml").read_text())["stringData"]
    replaced = compose_env | {"ASSISTANT_SERVE_API_KEYS": '{"%s": "default"}' % ("k" * 40)}
    check_exposure(api_settings(replaced, monkeypatch), "0.0.0.0")  # a real key starts
    for environment in (compose_env, secret):
        settings = api_settings(environment, monkeypatch)
        assert PLACEHOLDER_KEY in settings.serve_api_keys
        with pytest.raises(InputError, match="placeholder key"):
            check_exposure(settings, "0.0.0.0")


def test_the_image_and_the_pods_listen_publicly_and_so_need_the_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text().splitlines()
    instructions = "\n".join(line for line in dockerfile if not line.lstrip().startswith("#"))
    image_env = dict(re.findall(r"(ASSISTANT_\w+)=(\S+)", instructions))
    config = k8s_named("ConfigMap", "assistant-config")["data"]
    for environment in (image_env, config):
        host = environment["ASSISTANT_SERVE_HOST"]
        with pytest.raises(InputError, match="ASSISTANT_SERVE_API_KEYS"):
            check_exposure(api_settings(environment, monkeypatch), host)
    env = container(k8s_named("Deployment", "api"), "api")["env"]
    keys = next(e for e in env if e["name"] == "ASSISTANT_SERVE_API_KEYS")
    assert keys["valueFrom"]["secretKeyRef"].get("optional", False) is False
