"""Pre-training the Conv4 body by plain classification, before meta-training starts.

MAML meta-trains θ from wherever θ starts. Drawn at random, its Conv4 layers must learn
every feature through second-order meta-gradients, one episode at a time; here they can
instead start from a network trained the ordinary way: one softmax over every class of the
training split (each character, and each of its quarter turns, is a class: 646 · 4 = 2,584),

    min_{θ_body, W, b}  E_(x, c) [ −log softmax(W f_θbody(x) + b)_c ],

by minibatch cross-entropy with Adam: how the "Baseline" of Chen, Liu, Kira, Wang & Huang
(ICLR 2019) learns the features it reuses for new classes, a strong baseline there. It pays
because MAML's accuracy rests mostly on the quality of its features, not on large changes
made in the inner loop (Raghu, Raghu, Bengio & Vinyals, ICLR 2020, "feature reuse"), and
classification learns good features from far fewer images: each image's gradient says which
of 2,584 classes it is, where an episode's says only which of its N. The 2,584-way head W
is thrown away; the N-way head of the meta-learner then starts at zero (``Training.pretrain``
says why). After it, every update of θ is the meta-learner's own.

Deterministic given the generator, and run in one piece: a run interrupted while
pre-training starts it again and gets the same body. The body depends on the seed, the
number of steps, the width and the turns, never on the meta-learner or its N (the body is
drawn before the head), so :func:`body_file` names it by those alone and runs of MAML,
FOMAML, Reptile and iMAML can share one.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from app.meta.nets import conv4_features, uniform_init
from app.meta.params import Params, leaves
from app.meta.tasks.omniglot_episodes import OmniglotTasks

BATCH = 128  # images per step
LEARNING_RATE = 1e-3  # Adam


def body_file(
    seed: int, steps: int, channels: int, rotations: bool, dtype: torch.dtype, device: str
) -> str:
    """The file a pre-trained body is kept in, named by everything that determines it."""
    turns = "turns" if rotations else "upright"
    kind = str(dtype).removeprefix("torch.")
    return (
        f"conv4-{channels}-seed{seed}-{steps}steps-{turns}-batch{BATCH}-adam{LEARNING_RATE:g}"
        f"-{kind}-{device}.pt"
    )


def is_body(name: str) -> bool:
    """The Conv4 layers (``conv*``, ``bn*``), as opposed to a classifier head."""
    return name.startswith(("conv", "bn"))


def pretrain_body(
    body: Params, tasks: OmniglotTasks, steps: int, generator: torch.Generator
) -> Iterator[tuple[int, float]]:
    """Train the Conv4 ``body`` (updated in place) for ``steps`` steps of classification over
    every class of ``tasks``' split, yielding (step, loss) after each; a fresh head is
    drawn from ``generator`` first."""
    like = body["bn3_w"]  # the last block's batch-norm scale: one entry per feature
    features = like.shape[0]
    drawn = {
        "w": uniform_init((tasks.classes, features), features, generator, like.dtype),
        "b": torch.zeros(tasks.classes, dtype=like.dtype),
    }
    head = leaves({k: v.to(like.device) for k, v in drawn.items()})
    trained = leaves(body)
    optimizer = torch.optim.Adam([*trained.values(), *head.values()], lr=LEARNING_RATE)
    for step in range(1, steps + 1):
        x, labels = tasks.sample_images(BATCH, generator)
        x, labels = x.to(like), labels.to(like.device)
        logits = F.linear(conv4_features(trained, x), head["w"], head["b"])
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        yield step, loss.item()
    with torch.no_grad():
        for k, v in body.items():
            v.copy_(trained[k])
