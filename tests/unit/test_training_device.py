import subprocess
import sys

import pytest
import torch

from assistant.errors import InputError
from assistant.training.lora_training import training_device


def test_the_default_is_the_gpu_when_there_is_one_else_the_cpu() -> None:
    assert training_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert training_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("wanted", ["tpu", "gpu0", "meta"])
def test_an_unknown_device_is_a_clear_error(wanted: str) -> None:
    with pytest.raises(InputError, match=wanted):
        training_device(wanted)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_a_gpu_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="no CUDA GPU"):
        training_device("cuda")


def test_training_does_not_import_the_server_client() -> None:
    # A GPU box for training needs torch and peft, not the OpenAI client the server path uses.
    probe = "import sys, assistant.training.lora_training; print('langchain_openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
