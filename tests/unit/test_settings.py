from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant.settings import Settings


def test_environment_variables_with_the_prefix_set_values(monkeypatch):
    monkeypatch.setenv("ASSISTANT_TOP_K", "8")
    monkeypatch.setenv("ASSISTANT_BACKEND", "openai")
    monkeypatch.setenv("ASSISTANT_SEARCH_MODE", "sparse")
    settings = Settings(_env_file=None)
    assert (settings.top_k, settings.backend, settings.search_mode) == (8, "openai", "sparse")


@pytest.mark.parametrize("name", ["QDRANT_URL", "ASSISTANT_QDRANT_URL"])
def test_qdrant_url_is_read_with_or_without_the_prefix(monkeypatch, name):
    monkeypatch.setenv(name, "http://qdrant:6333")
    assert Settings(_env_file=None).qdrant_url == "http://qdrant:6333"


def test_a_dotenv_file_is_read_and_the_environment_wins_over_it(monkeypatch, tmp_path: Path):
    env_file = tmp_path / ".env"
    env_file.write_text("ASSISTANT_COLLECTION=from_file\nASSISTANT_TOP_K=3\n")
    monkeypatch.setenv("ASSISTANT_TOP_K", "9")
    settings = Settings(_env_file=env_file)
    assert settings.collection == "from_file"
    assert settings.top_k == 9


def test_local_mode_is_the_default_and_threads_live_in_the_data_dir(tmp_path: Path):
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert settings.qdrant_url is None
    assert settings.checkpoint_path == tmp_path / "threads.sqlite"


def test_the_data_dir_holds_the_index_unless_the_index_is_placed_on_its_own(
    monkeypatch, tmp_path: Path
):
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    moved = Settings(_env_file=None)
    assert moved.qdrant_path == tmp_path / "data" / "qdrant"
    assert moved.interaction_log_path.parent == tmp_path / "data"
    monkeypatch.setenv("ASSISTANT_QDRANT_PATH", str(tmp_path / "index"))
    assert Settings(_env_file=None).qdrant_path == tmp_path / "index"


@pytest.mark.parametrize(
    ("field", "value"),
    [("top_k", "0"), ("backend", "gpt"), ("search_mode", "fuzzy"), ("max_rewrites", "-1")],
)
def test_invalid_values_are_refused_naming_the_setting(monkeypatch, field, value):
    monkeypatch.setenv(f"ASSISTANT_{field.upper()}", value)
    with pytest.raises(ValidationError, match=field):
        Settings(_env_file=None)


def test_every_turn_variant_of_the_evaluation_changes_choices_of_the_turn():
    # The runner makes them a run's choices (`Assistant.choosing`), on the graph built once.
    from assistant.evaluation.answers import TURN_VARIANTS
    from assistant.graph.configuration import TurnConfig

    defaults = TurnConfig.from_settings(Settings(_env_file=None))
    for name, update in TURN_VARIANTS.items():
        assert set(update) <= set(TurnConfig.model_fields), name
        TurnConfig.from_runnable_config({"configurable": update}, defaults)
