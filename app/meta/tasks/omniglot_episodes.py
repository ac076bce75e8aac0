"""Omniglot as N-way K-shot episodes, drawn from one split of :mod:`app.meta.tasks.omniglot`.

Episodes (:class:`OmniglotTasks`): N distinct characters drawn uniformly from a split, or all
from one alphabet drawn uniformly from the split's alphabets (Lake et al.'s within-alphabet
setting); K + Q distinct drawings of each; labels 0..N-1 given to the characters in random
order, rows grouped by label. Optionally for ``train`` only, each character is turned by a
random multiple of 90° (counter-clockwise); a turned character counts as a new class
(Santoro et al., 2016; Vinyals et al., 2016), and the N characters of an episode stay distinct.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from app.meta.tasks.base import TaskBatch
from app.meta.tasks.omniglot import DRAWINGS, ROTATIONS, TRAIN, Omniglot


@dataclass(frozen=True)
class EpisodeIds:
    """Where each image of a batch came from, rows in the order of ``xs`` and ``xq``.

    ``support`` is (T, N*K, 4) and ``query`` (T, N*Q, 4), int64, columns :data:`ID_COLUMNS`:
    alphabet id, character id, drawing id and quarter turns (counter-clockwise).
    """

    support: torch.Tensor
    query: torch.Tensor


@dataclass(frozen=True)
class OmniglotTasks:
    """Samples N-way K-shot episodes from one split; a seeded generator makes them repeatable.

    ``rotations`` (``train`` only) turns each character by a random multiple of 90°;
    ``within_alphabet`` draws all N characters of an episode from one alphabet and needs every
    alphabet of the split to have at least N characters.
    """

    data: Omniglot
    split: str = TRAIN
    n_way: int = 5
    rotations: bool = False
    within_alphabet: bool = False

    def __post_init__(self):
        if self.n_way < 2:
            raise ValueError(f"n_way must be at least 2, got {self.n_way}")
        if self.rotations and self.split != TRAIN:
            raise ValueError(f"rotations augment meta-training only, not split {self.split!r}")
        characters = len(self.data.split_characters(self.split))
        if characters < self.n_way:
            raise ValueError(f"split {self.split!r} has {characters} characters < {self.n_way}")
        if self.within_alphabet:
            self._check_alphabet_sizes()

    def _check_alphabet_sizes(self) -> None:
        alphabets = self.data.split_alphabets(self.split)
        sizes = torch.bincount(self.data.character_alphabet, minlength=len(self.data.alphabets))
        names = self.data.alphabets
        small = [f"{names[a]} ({int(sizes[a])})" for a in alphabets if sizes[a] < self.n_way]
        if small:
            raise ValueError(
                f"{self.n_way}-way within-alphabet episodes need {self.n_way} characters in "
                f"every alphabet of split {self.split!r}; these have fewer: {', '.join(small)}"
            )

    def sample(
        self, n_tasks: int, k_support: int, k_query: int, generator: torch.Generator
    ) -> TaskBatch:
        """``n_tasks`` episodes of ``k_support`` shots and ``k_query`` queries per class.

        ``xs`` is (T, N*K, 1, 28, 28) float32 and ``ys`` (T, N*K) int64 in 0..N-1, rows grouped
        by label; ``xq`` and ``yq`` likewise with N*Q rows.
        """
        return self.sample_with_ids(n_tasks, k_support, k_query, generator)[0]

    def sample_with_ids(
        self, n_tasks: int, k_support: int, k_query: int, generator: torch.Generator
    ) -> tuple[TaskBatch, EpisodeIds]:
        """As :meth:`sample`, with the ids of every image (for showing the originals)."""
        if k_support < 1 or k_query < 1 or k_support + k_query > DRAWINGS:
            raise ValueError(
                f"need k_support ≥ 1, k_query ≥ 1 and k_support + k_query ≤ {DRAWINGS}, "
                f"got {k_support} and {k_query}"
            )
        characters = self._characters(n_tasks, generator)
        keys = torch.rand(n_tasks, self.n_way, DRAWINGS, generator=generator, dtype=torch.float64)
        drawings = keys.argsort(dim=-1)[..., : k_support + k_query]
        turns = (
            torch.randint(ROTATIONS, (n_tasks, self.n_way), generator=generator)
            if self.rotations
            else torch.zeros(n_tasks, self.n_way, dtype=torch.int64)
        )
        support, query = drawings[..., :k_support], drawings[..., k_support:]
        batch = TaskBatch(
            self._images(characters, support, turns),
            _labels(n_tasks, self.n_way, k_support),
            self._images(characters, query, turns),
            _labels(n_tasks, self.n_way, k_query),
        )
        ids = EpisodeIds(
            _rows(self._ids(characters, support, turns)), _rows(self._ids(characters, query, turns))
        )
        return batch, ids

    @property
    def turns(self) -> int:
        """Orientations a training character is shown in: four with ``rotations``, else one."""
        return ROTATIONS if self.rotations else 1

    @property
    def classes(self) -> int:
        """Classes of plain classification over the split: each character, and with
        ``rotations`` each of its quarter turns, is one class (see :meth:`sample_images`)."""
        return len(self.data.split_characters(self.split)) * self.turns

    def sample_images(
        self, n: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` labelled drawings for plain classification over the whole split (pre-training):
        images (n, 1, 28, 28) float32 in [0, 1] and labels (n,) int64 in 0..``classes``−1, the
        character's position in the split times the turns, plus its turn."""
        candidates = self.data.split_characters(self.split)
        index = torch.randint(len(candidates), (n,), generator=generator)
        drawings = torch.randint(DRAWINGS, (n,), generator=generator)
        turns = torch.randint(self.turns, (n,), generator=generator)
        images = _rotate(self.data.images[candidates[index], drawings][None, :, None], turns[None])
        labels = index * self.turns + turns
        return images[0].float().div_(255), labels

    def _characters(self, n_tasks: int, generator: torch.Generator) -> torch.Tensor:
        """(T, N) distinct character ids per episode, in random order (label n is column n)."""
        candidates = self.data.split_characters(self.split)
        keys = torch.rand(n_tasks, len(candidates), generator=generator, dtype=torch.float64)
        if self.within_alphabet:
            alphabets = self.data.split_alphabets(self.split)
            chosen = alphabets[torch.randint(len(alphabets), (n_tasks,), generator=generator)]
            keys[self.data.character_alphabet[candidates] != chosen[:, None]] = 2.0  # sort last
        return candidates[keys.argsort(dim=1)[:, : self.n_way]]

    def _images(self, characters, drawings, turns) -> torch.Tensor:
        """(T, N*M, 1, 28, 28) float32 in [0, 1], ink = 1."""
        images = _rotate(self.data.images[characters[..., None], drawings], turns)
        return _rows(images).unsqueeze(2).float().div_(255)

    def _ids(self, characters, drawings, turns) -> torch.Tensor:
        """(T, N, M, 4) ids in :data:`ID_COLUMNS` order, for M drawings of each class."""
        per_class = [self.data.character_alphabet[characters], characters, turns]
        alphabet, character, turn = (t[..., None].expand_as(drawings) for t in per_class)
        return torch.stack([alphabet, character, drawings, turn], dim=-1)


def _rotate(images: torch.Tensor, turns: torch.Tensor) -> torch.Tensor:
    """Turn images (T, N, M, H, W) of class (t, n) by ``turns[t, n]`` quarter turns."""
    rotated = images.clone()
    for k in range(1, ROTATIONS):
        chosen = turns == k
        rotated[chosen] = torch.rot90(images[chosen], k, dims=(-2, -1))
    return rotated


def _labels(n_tasks: int, n_way: int, per_class: int) -> torch.Tensor:
    """(T, N*M) int64: label n repeated M times, for rows grouped by class."""
    return torch.arange(n_way).repeat_interleave(per_class).repeat(n_tasks, 1)


def _rows(per_class: torch.Tensor) -> torch.Tensor:
    """Merge the class and per-class dimensions: (T, N, M, ...) to (T, N*M, ...)."""
    return per_class.reshape(per_class.shape[0], -1, *per_class.shape[3:])
