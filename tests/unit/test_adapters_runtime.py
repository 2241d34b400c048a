import pytest

from assistant.errors import ModelUnavailableError
from assistant.llm.served_adapters import load_adapter, server_root, unload_adapter


@pytest.mark.parametrize(
    "base_url", ["http://host:8000/v1", "http://host:8000/v1/", "http://host:8000"]
)
def test_the_runtime_routes_live_at_the_servers_root(base_url):
    assert server_root(base_url) == "http://host:8000"


def test_a_server_that_is_down_is_named_in_the_error():
    with pytest.raises(ModelUnavailableError, match=r"127\.0\.0\.1:9"):
        load_adapter("http://127.0.0.1:9/v1", "triage", "/adapters/triage", timeout_s=5)
    with pytest.raises(ModelUnavailableError, match=r"127\.0\.0\.1:9"):
        unload_adapter("http://127.0.0.1:9/v1", "triage", timeout_s=5)
