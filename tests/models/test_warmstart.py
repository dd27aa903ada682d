"""The warm start's shared-prefix pass equals the plain forward pass (loss and gradients)."""

from __future__ import annotations

import torch

from pipeline.data.prompts import chat
from pipeline.models.tiny import build_tiny_model
from pipeline.models.tokenizer import build_tokenizer
from pipeline.models.warmstart import collate, common_prefix, encode_example, shared_prefix_loss


def test_common_prefix_stops_before_the_first_label_hand_computed():
    ids = torch.tensor([[5, 6, 7, 8, 9], [5, 6, 7, 2, 3]])
    labels = torch.tensor([[-100, -100, -100, 8, 9], [-100, -100, -100, -100, 3]])
    # three shared tokens, but position 2 predicts the first label (index 3): the prefix keeps 2
    assert common_prefix({"input_ids": ids, "labels": labels}) == 2
    labels = torch.tensor([[-100, -100, -100, -100, 9], [-100, -100, -100, -100, 3]])
    assert common_prefix({"input_ids": ids, "labels": labels}) == 3
    assert common_prefix({"input_ids": torch.tensor([[1, 2], [3, 2]]), "labels": labels[:, :2]}) == 0


def test_shared_prefix_loss_and_gradients_equal_the_full_forward():
    questions = ["what is 2+2?", "name a red fruit", "count to three, please", "hi"]
    examples = [(chat(q), f"<think>{q[:5]}</think><answer>{i}</answer>") for i, q in enumerate(questions)]
    tokenizer = build_tokenizer([m["content"] for p, _ in examples for m in p] + [c for _, c in examples] * 3, 300)
    model = build_tiny_model(len(tokenizer), 32, 2, 2, 1, 64, 256, 0, tokenizer)
    batch = collate([encode_example(tokenizer, p, c, 128) for p, c in examples], tokenizer.pad_token_id)
    assert common_prefix(batch) > 10  # the chat markers and the system prompt
    full = model(**batch).loss
    full.backward()
    reference = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    shared = shared_prefix_loss(model, batch)
    shared.backward()
    torch.testing.assert_close(shared, full, atol=1e-6, rtol=1e-6)
    for p, g in zip(model.parameters(), reference):
        torch.testing.assert_close(p.grad, g, atol=1e-6, rtol=1e-5)


def test_completion_loss_equals_the_loss_of_transformers():
    from pipeline.models.warmstart import completion_loss

    torch.manual_seed(0)
    tokenizer = build_tokenizer(["a b c d e f g"] * 5, 300)
    model = build_tiny_model(len(tokenizer), 32, 1, 2, 1, 64, 256, 0, tokenizer)
    ids = torch.randint(10, 200, (3, 9))
    labels = torch.full_like(ids, -100)
    labels[0, 5:] = ids[0, 5:]
    labels[1, 7:] = ids[1, 7:]
    labels[2, 3:6] = ids[2, 3:6]
    ours = completion_loss(model, labels, input_ids=ids)
    torch.testing.assert_close(ours, model(input_ids=ids, labels=labels).loss, atol=1e-6, rtol=1e-6)
