"""Omniglot as N-way K-shot classification episodes (few-shot image classification).

Data: Lake, Salakhutdinov & Tenenbaum (2015), *Human-level concept learning through
probabilistic program induction*, Science 350(6266). MIT licence; cite it wherever a
drawing is shown. Two official zips, laid out as
``images_<set>/<Alphabet>/characterNN/<id>_<drawer>.png``, 20 drawings of each character by
different people, 105×105 1-bit PNGs of black ink on white:

* ``images_background.zip``: 30 alphabets, 964 characters. Required; downloaded (md5-checked,
  see :mod:`app.meta.tasks.omniglot_download`) when missing and a base URL is given.
* ``images_evaluation.zip``: 20 alphabets, 659 characters. Optional: read when it is in the
  data folder, never required and never downloaded by :func:`load_omniglot`.

A local copy is validated by its structure (alphabets, characters, 20 drawings each), not by
its checksum: re-encoded copies with identical pixels are fine.

Preprocessing runs once per input into ``<cache_dir>/omniglot-<key>.npz``, where the key hashes
each zip's size, mtime_ns and sha256 together with :data:`PREPROCESS_VERSION`; changing any of
them gives a new file, written atomically. Pixel convention everywhere: **ink = 1,
background = 0**. The cache holds

* ``images``: (C, 20, 28, 28) uint8, the model inputs, downsampled with PIL's BOX filter (an
  exact area average, no ringing): 255 × the fraction of each output pixel covered by ink.
  Episodes serve them as float32 in [0, 1].
* ``originals``: (C, 20, 1379) uint8, the 105×105 bitmaps (ink = 1) flattened and
  ``np.packbits``-ed, for display (:meth:`Omniglot.original_png`).
* the index: alphabet names and the zip each came from, each character's alphabet and folder
  name, each drawing's file name.

Ids: alphabets are numbered background first, then evaluation, each sorted by name; characters
by (alphabet id, folder name); a drawing id is the position 0..19 of its file name among its
character's sorted file names. Background ids do not change when the evaluation zip appears.

Splits, by alphabet, fixed (not random). Of the 30 background alphabets:

* ``train`` (20 alphabets, 646 characters): Alphabet_of_the_Magi, Anglo-Saxon_Futhorc,
  Arcadian, Asomtavruli_(Georgian), Balinese, Blackfoot_(Canadian_Aboriginal_Syllabics),
  Braille, Burmese_(Myanmar), Cyrillic, Grantha, Inuktitut_(Canadian_Aboriginal_Syllabics),
  Japanese_(hiragana), Japanese_(katakana), Malay_(Jawi_-_Arabic), Mkhedruli_(Georgian), N_Ko,
  Ojibwe_(Canadian_Aboriginal_Syllabics), Sanskrit, Tagalog, Tifinagh.
* ``val`` (5 alphabets, 158 characters): Armenian, Early_Aramaic, Greek, Gujarati,
  Syriac_(Estrangelo).
* ``test`` (5 alphabets, 160 characters): Bengali, Futurama, Hebrew, Korean, Latin.
* ``evaluation``: every alphabet of ``images_evaluation.zip``, when present.

They were picked by hand so that validation and test each hold about a sixth of the characters
and every one of their alphabets has at least 20 characters, so 20-way within-alphabet
episodes work there; the four alphabets with fewer than 20 are all in ``train``.

Episodes are sampled by :class:`~app.meta.tasks.omniglot_episodes.OmniglotTasks`.
"""

from __future__ import annotations

import hashlib
import io
import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from zipfile import ZipFile

import numpy as np
import torch
from PIL import Image

from app.meta.tasks.omniglot_download import OFFICIAL_BASE_URL, atomic_write, ensure_file

PREPROCESS_VERSION = 1
IMAGE_SIZE = 28
ORIGINAL_SIZE = 105
DRAWINGS = 20
ROTATIONS = 4
TRAIN, EVALUATION_SPLIT = "train", "evaluation"
ID_COLUMNS = ("alphabet", "character", "drawing", "rotation")

SPLITS: dict[str, tuple[str, ...]] = {
    TRAIN: (
        "Alphabet_of_the_Magi",
        "Anglo-Saxon_Futhorc",
        "Arcadian",
        "Asomtavruli_(Georgian)",
        "Balinese",
        "Blackfoot_(Canadian_Aboriginal_Syllabics)",
        "Braille",
        "Burmese_(Myanmar)",
        "Cyrillic",
        "Grantha",
        "Inuktitut_(Canadian_Aboriginal_Syllabics)",
        "Japanese_(hiragana)",
        "Japanese_(katakana)",
        "Malay_(Jawi_-_Arabic)",
        "Mkhedruli_(Georgian)",
        "N_Ko",
        "Ojibwe_(Canadian_Aboriginal_Syllabics)",
        "Sanskrit",
        "Tagalog",
        "Tifinagh",
    ),
    "val": ("Armenian", "Early_Aramaic", "Greek", "Gujarati", "Syriac_(Estrangelo)"),
    "test": ("Bengali", "Futurama", "Hebrew", "Korean", "Latin"),
}


@dataclass(frozen=True)
class Archive:
    """One official zip: its folder name inside the zip, md5 and expected structure."""

    stem: str
    md5: str
    alphabets: int
    characters: int

    @property
    def filename(self) -> str:
        return f"{self.stem}.zip"


BACKGROUND = Archive("images_background", "68d2efa1b9178cc56df9314c21c6e718", 30, 964)
EVALUATION = Archive("images_evaluation", "6b91aef0f799c5bb55b94e3f2daec811", 20, 659)


def ensure_archive(
    data_dir: Path, archive: Archive = BACKGROUND, base_url: str | None = OFFICIAL_BASE_URL
) -> Path:
    """The path of ``archive`` in ``data_dir``, downloaded first if it is missing.

    Raises :class:`~app.meta.tasks.omniglot_download.DownloadError` (offline, or
    ``base_url=None``) with a message naming where to put the file by hand.
    """
    return ensure_file(data_dir / archive.filename, archive.md5, base_url)


@dataclass(frozen=True, eq=False)
class Omniglot:
    """The preprocessed data set in memory; see the module docstring for ids and conventions."""

    alphabets: tuple[str, ...]
    alphabet_splits: tuple[str, ...]
    character_alphabet: torch.Tensor
    character_names: tuple[str, ...]
    drawing_files: np.ndarray
    images: torch.Tensor
    originals: np.ndarray

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.alphabet_splits))

    def split_alphabets(self, split: str) -> torch.Tensor:
        """Ids of the alphabets in ``split``, ascending."""
        if split not in self.alphabet_splits:
            raise ValueError(f"unknown split {split!r}; this data has {self.splits}")
        ids = [i for i, name in enumerate(self.alphabet_splits) if name == split]
        return torch.tensor(ids, dtype=torch.int64)

    def split_characters(self, split: str) -> torch.Tensor:
        """Ids of the characters in ``split``, ascending."""
        return torch.isin(self.character_alphabet, self.split_alphabets(split)).nonzero()[:, 0]

    def original_png(self, character: int, drawing: int) -> bytes:
        """One 105×105 original drawing as PNG bytes, black ink on white as in the release."""
        character = _checked_id(character, len(self.character_names), "character")
        drawing = _checked_id(drawing, DRAWINGS, "drawing")
        bits = np.unpackbits(self.originals[character, drawing], count=ORIGINAL_SIZE**2)
        ink = bits.reshape(ORIGINAL_SIZE, ORIGINAL_SIZE).astype(bool)
        buffer = io.BytesIO()
        Image.fromarray(~ink).save(buffer, format="PNG")
        return buffer.getvalue()


def _checked_id(value: object, upper: int, name: str) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} id must be an integer, not a bool")
    index = operator.index(value)
    if not 0 <= index < upper:
        raise ValueError(f"{name} id must be in 0..{upper - 1}, got {index}")
    return index


def load_omniglot(
    data_dir: Path,
    cache_dir: Path,
    *,
    base_url: str | None = OFFICIAL_BASE_URL,
    splits: Mapping[str, Sequence[str]] = SPLITS,
    background: Archive = BACKGROUND,
    evaluation: Archive = EVALUATION,
) -> Omniglot:
    """Load Omniglot from ``data_dir``, preprocessing into ``cache_dir`` on first use.

    The background zip is downloaded from ``base_url`` when missing (``None``: never); the
    evaluation zip is read when present. ``splits`` assigns every background alphabet to
    exactly one split; evaluation alphabets form the ``"evaluation"`` split.
    """
    archives = [(background, ensure_archive(data_dir, background, base_url))]
    if (data_dir / evaluation.filename).is_file():
        archives.append((evaluation, data_dir / evaluation.filename))
    cache = cache_dir / f"omniglot-{cache_key([path for _, path in archives])}.npz"
    cached = cache.is_file()
    arrays = _read_cache(cache) if cached else _preprocess(archives)
    for archive, _ in archives:
        _check_structure(archive, arrays)
    if not cached:
        with atomic_write(cache) as file:
            np.savez_compressed(file, **arrays)
    return _to_omniglot(arrays, _alphabet_splits(arrays, splits, background.stem))


def cache_key(zips: Iterable[Path]) -> str:
    """A hash of :data:`PREPROCESS_VERSION` and each zip's name, size, mtime_ns and sha256."""
    key = hashlib.sha256(f"omniglot preprocessing v{PREPROCESS_VERSION}".encode())
    for path in zips:
        stat = path.stat()
        key.update(f"{path.name} {stat.st_size} {stat.st_mtime_ns}".encode())
        with path.open("rb") as file:
            key.update(hashlib.file_digest(file, "sha256").digest())
    return key.hexdigest()[:20]


def _read_cache(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as npz:
        return {name: npz[name] for name in npz.files}


def _preprocess(archives: Sequence[tuple[Archive, Path]]) -> dict[str, np.ndarray]:
    """Decode every drawing of the zips into the cache's arrays (see the module docstring)."""
    alphabets, archive_of, character_alphabet, character_names, files = [], [], [], [], []
    images, originals = [], []
    for archive, path in archives:
        with ZipFile(path) as zipped:
            index = _index(zipped, archive.stem)
            for alphabet in sorted({alphabet for alphabet, _ in index}):
                alphabets.append(alphabet)
                archive_of.append(archive.stem)
            for (alphabet, character), names in index.items():
                character_alphabet.append(alphabets.index(alphabet))
                character_names.append(character)
                files.append(names)
                prefix = f"{archive.stem}/{alphabet}/{character}/"
                decoded = [_decode(zipped.read(prefix + name)) for name in names]
                images.append([small for small, _ in decoded])
                originals.append([packed for _, packed in decoded])
    return {
        "alphabets": np.array(alphabets),
        "alphabet_archives": np.array(archive_of),
        "character_alphabet": np.array(character_alphabet, dtype=np.int64),
        "character_names": np.array(character_names),
        "drawing_files": np.array(files),
        "images": np.array(images, dtype=np.uint8),
        "originals": np.array(originals, dtype=np.uint8),
    }


def _index(zipped: ZipFile, stem: str) -> dict[tuple[str, str], list[str]]:
    """Sorted ``{(alphabet, character): sorted PNG names}``; each character must have 20."""
    pattern = re.compile(rf"{re.escape(stem)}/([^/]+)/([^/]+)/([^/]+\.png)")
    index: dict[tuple[str, str], list[str]] = {}
    matches = filter(None, map(pattern.fullmatch, zipped.namelist()))
    for match in sorted(matches, key=lambda match: match.groups()):
        alphabet, character, name = match.groups()
        index.setdefault((alphabet, character), []).append(name)
    for (alphabet, character), names in index.items():
        if len(names) != DRAWINGS:
            raise ValueError(
                f"{stem}/{alphabet}/{character} has {len(names)} drawings, expected {DRAWINGS}"
            )
    return index


def _decode(png: bytes) -> tuple[np.ndarray, np.ndarray]:
    """One PNG to (28×28 uint8 ink 0..255, packed 105×105 ink bits)."""
    image = Image.open(io.BytesIO(png))
    if image.size != (ORIGINAL_SIZE, ORIGINAL_SIZE):
        raise ValueError(f"a drawing is {image.size[0]}×{image.size[1]}, expected 105×105")
    ink = np.asarray(image.convert("L")) < 128
    return downsample(ink), np.packbits(ink)


def downsample(ink: np.ndarray) -> np.ndarray:
    """A 105×105 ink mask to the models' 28×28 input: 255 × the fraction of each pixel inked."""
    small = Image.fromarray(ink.astype(np.uint8) * 255).resize(
        (IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX
    )
    return np.asarray(small)


def _check_structure(archive: Archive, arrays: Mapping[str, np.ndarray]) -> None:
    """Raise unless ``archive`` gave the expected numbers of alphabets and characters."""
    alphabets = np.flatnonzero(arrays["alphabet_archives"] == archive.stem)
    characters = int(np.isin(arrays["character_alphabet"], alphabets).sum())
    if (len(alphabets), characters) != (archive.alphabets, archive.characters):
        raise ValueError(
            f"{archive.filename} has {len(alphabets)} alphabets and {characters} characters, "
            f"expected {archive.alphabets} and {archive.characters} (the official layout is "
            f"{archive.stem}/<Alphabet>/characterNN/<id>_<drawer>.png)"
        )


def _alphabet_splits(
    arrays: Mapping[str, np.ndarray], splits: Mapping[str, Sequence[str]], background: str
) -> tuple[str, ...]:
    """The split of each alphabet; ``splits`` must cover the background alphabets exactly once."""
    split_of = {alphabet: split for split, names in splits.items() for alphabet in names}
    listed = sorted(alphabet for names in splits.values() for alphabet in names)
    present = sorted(arrays["alphabets"][arrays["alphabet_archives"] == background].tolist())
    if listed != present:
        raise ValueError(
            f"the splits list {listed}, but the background alphabets are {present}; "
            "each must be in exactly one split"
        )
    return tuple(
        split_of[alphabet] if archive == background else EVALUATION_SPLIT
        for alphabet, archive in zip(arrays["alphabets"], arrays["alphabet_archives"], strict=True)
    )


def _to_omniglot(arrays: Mapping[str, np.ndarray], alphabet_splits: tuple[str, ...]) -> Omniglot:
    return Omniglot(
        alphabets=tuple(arrays["alphabets"].tolist()),
        alphabet_splits=alphabet_splits,
        character_alphabet=torch.from_numpy(arrays["character_alphabet"]),
        character_names=tuple(arrays["character_names"].tolist()),
        drawing_files=arrays["drawing_files"],
        images=torch.from_numpy(arrays["images"]),
        originals=arrays["originals"],
    )
