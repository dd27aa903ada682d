"""Figure 3's answer formats (Appendix A.2.1): the same QA records asked for the option's text or its letter."""

import pytest
import yaml

from pipeline.config import Params, parse_params
from pipeline.data.answer_formats import format_task, in_format, letter_record
from pipeline.data.prompts import SYSTEM_PROMPT, chat, qa_question, qa_user_prompt
from pipeline.data.schema import record_problem
from pipeline.errors import UserError

from ..conftest import REPO


def _record(reference="Argon", options=("Oxygen", "Argon", "Hydrogen")):
    return {"id": "q1", "task": "qa", "source": "synthetic_qa", "split": "test",
            "prompt": chat(qa_user_prompt("Which gas is noble?", options)), "reference": reference,
            "meta": {"options": list(options), "category": "chemistry"}}


def test_the_letter_format_asks_the_same_question_with_lettered_options():
    rec = letter_record(_record(), "qa_letter")
    assert record_problem(rec) is None
    assert rec["task"] == "qa_letter" and rec["reference"] == "B" and rec["id"] == "q1"
    assert rec["prompt"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert rec["prompt"][1]["content"] == ("Which gas is noble?\nOptions:\nA. Oxygen\nB. Argon\nC. Hydrogen\n"
                                           "Answer with the letter of the correct option only.")
    assert rec["meta"] == {"options": ["Oxygen", "Argon", "Hydrogen"], "category": "chemistry",
                           "answer_text": "Argon", "answer_format": "letter"}


def test_in_format_names_the_task_per_format_and_refuses_what_it_cannot_letter():
    records = [_record(), _record("Oxygen")]
    assert in_format(records, "qa", "full_text") == records
    assert [r["reference"] for r in in_format(records, "qa", "letter")] == ["B", "A"]
    assert format_task("qa", "letter") == "qa_letter" and format_task("qa", "full_text") == "qa"
    with pytest.raises(ValueError, match="its reference is not one of meta.options"):
        in_format([_record("Neon")], "qa", "letter")
    with pytest.raises(ValueError, match="17 options, at most 16"):
        in_format([_record("o0", tuple(f"o{i}" for i in range(17)))], "qa", "letter")
    with pytest.raises(ValueError, match="unknown answer format 'roman'"):
        in_format(records, "qa", "roman")
    with pytest.raises(ValueError, match="not a QA prompt"):
        qa_question("What is 2 + 2?")


def test_letter_params_are_a_valid_one_task_run_of_the_letter_task():
    from pipeline.commands.ablate_format import letter_params

    params = Params.model_validate(yaml.safe_load((REPO / "params.yaml").read_text()))
    params = params.model_copy(update={"train": params.train.model_copy(
        update={"overrides": {**params.train.overrides, "qa": {"max_steps": 7}}})})
    lp = letter_params(params, "qa")
    assert lp.tasks == ["qa_letter"] and lp.data.tasks["qa_letter"] == params.data.tasks["qa"]
    assert lp.rewards.for_task("qa_letter").kind == "mcq"
    assert lp.rewards.for_task("qa_letter").weights == params.rewards.for_task("qa").weights
    assert lp.train.for_single("qa_letter") == params.train.for_single("qa")  # the same GRPO run but the format
    assert lp.eval == params.eval and lp.seed == params.seed and lp.models == params.models
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["ablations"]["answer_format"]["task"] = "poetry"
    with pytest.raises(UserError, match="ablations.answer_format.task names unknown task 'poetry'"):
        parse_params(raw, "params.yaml")
