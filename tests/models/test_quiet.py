"""Loading and saving models draws none of transformers' own progress bars; the hub's stay on."""

import subprocess
import sys

from ..conftest import REPO

SCRIPT = r"""
import sys
from pathlib import Path
import huggingface_hub.utils as hub
from pipeline.models.tiny import build_tiny_model, load_model
from pipeline.models.tokenizer import build_tokenizer

out = Path(sys.argv[1])
tok = build_tokenizer(["a b c d e f g"] * 4, vocab_size=300)
model = build_tiny_model(len(tok), 32, 1, 2, 1, 64, 64, 0, tok)
model.save_pretrained(out)
tok.save_pretrained(out)
load_model(out)
print("hub bars", "off" if hub.are_progress_bars_disabled() else "on")
"""


def test_loading_and_saving_a_model_draws_no_transformers_bar(tmp_path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "m")], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert "Loading weights" not in proc.stderr and "Writing model shards" not in proc.stderr, proc.stderr
    assert proc.stdout.strip() == "hub bars on"
