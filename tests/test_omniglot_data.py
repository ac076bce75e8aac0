"""The Omniglot pipeline: zip reading, cache, splits, episode sampler and download.

Most tests run on a tiny synthetic zip in the official layout (4 alphabets, 18 characters,
20 random drawings each); one runs on the real background set (Lake et al., 2015) in
``../shared/omniglot`` or ``$MAML_OMNIGLOT_DIR``, and is skipped where that is absent.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import socket
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zipfile import ZipFile

import numpy as np
import pytest
import torch
from PIL import Image

from app.meta.tasks import omniglot
from app.meta.tasks.omniglot import (
    BACKGROUND,
    SPLITS,
    Archive,
    cache_key,
    ensure_archive,
    load_omniglot,
)
from app.meta.tasks.omniglot_download import ChecksumError, DownloadError, ensure_file
from app.meta.tasks.omniglot_episodes import OmniglotTasks

REAL_DIR = Path(
    os.environ.get(
        "MAML_OMNIGLOT_DIR", Path(__file__).resolve().parents[1] / ".." / "shared" / "omniglot"
    )
)
TINY_ALPHABETS = {"Alpha": 6, "Beta": 5, "Delta": 3, "Gamma": 4}
TINY_SPLITS = {"train": ("Alpha", "Delta"), "val": ("Beta",), "test": ("Gamma",)}
TINY = Archive("images_background", "not checked for a local copy", 4, 18)
TINY_EVALUATION = Archive("images_evaluation", "not checked", 1, 2)
INK = 0.05


def write_zip(path: Path, stem: str, alphabets: dict[str, int], seed=0, drawings=20) -> Path:
    """A zip in the official layout with random drawings, members in no particular order."""
    rng = np.random.default_rng(seed)
    members = {}
    for alphabet, characters in alphabets.items():
        for c in range(1, characters + 1):
            for d in range(1, drawings + 1):
                buffer = io.BytesIO()
                Image.fromarray(~(rng.random((105, 105)) < INK)).save(buffer, format="PNG")
                members[f"{stem}/{alphabet}/character{c:02d}/{c:04d}_{d:02d}.png"] = buffer
    with ZipFile(path, "w") as zipped:
        for name in reversed(members):
            zipped.writestr(name, members[name].getvalue())
    return path


def load_tiny(data_dir: Path, cache_dir: Path, **options):
    options = {"base_url": None, "splits": TINY_SPLITS, "background": TINY} | options
    return load_omniglot(data_dir, cache_dir, **options)


@pytest.fixture
def tiny_dir(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    write_zip(data_dir / "images_background.zip", "images_background", TINY_ALPHABETS)
    return data_dir


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    write_zip(root / "images_background.zip", "images_background", TINY_ALPHABETS)
    return load_tiny(root, root / "cache")


def sample(data, n_tasks=8, k_support=2, k_query=3, seed=0, **options):
    tasks = OmniglotTasks(data, **options)
    return tasks.sample_with_ids(n_tasks, k_support, k_query, torch.Generator().manual_seed(seed))


# The data set and its splits


def test_default_splits_are_a_fixed_20_5_5_partition():
    assert [len(SPLITS[s]) for s in ("train", "val", "test")] == [20, 5, 5]
    names = [name for split in SPLITS.values() for name in split]
    assert len(set(names)) == len(names) == BACKGROUND.alphabets
    assert all(list(split) == sorted(split) for split in SPLITS.values())


def test_tiny_zip_is_indexed_in_sorted_order(tiny):
    assert tiny.alphabets == ("Alpha", "Beta", "Delta", "Gamma")
    assert tiny.character_names[:3] == ("character01", "character02", "character03")
    assert tiny.drawing_files[0].tolist() == [f"0001_{d:02d}.png" for d in range(1, 21)]
    assert tiny.images.shape == (18, 20, 28, 28) and tiny.images.dtype == torch.uint8
    assert tiny.originals.shape == (18, 20, 1379)


def test_ink_is_one_and_background_zero(tiny):
    batch, _ = sample(tiny)
    assert batch.xs.min() >= 0.0 and batch.xs.max() <= 1.0
    assert batch.xs.mean().item() == pytest.approx(INK, rel=0.2)


def test_splits_partition_the_characters(tiny):
    parts = {split: set(tiny.split_characters(split).tolist()) for split in tiny.splits}
    assert tiny.splits == ("train", "val", "test")
    assert [len(parts[s]) for s in tiny.splits] == [9, 5, 4]
    assert set.union(*parts.values()) == set(range(18))
    with pytest.raises(ValueError, match="unknown split 'evaluation'"):
        tiny.split_characters("evaluation")


def test_structure_is_validated(tiny_dir, tmp_path):
    with pytest.raises(ValueError, match="4 alphabets and 18 characters, expected 30 and 964"):
        load_tiny(tiny_dir, tmp_path / "cache", background=BACKGROUND)
    assert not list((tmp_path / "cache").glob("*.npz"))


def test_every_character_needs_20_drawings(tmp_path):
    write_zip(tmp_path / "images_background.zip", "images_background", {"Alpha": 2}, drawings=19)
    with pytest.raises(ValueError, match="Alpha/character01 has 19 drawings, expected 20"):
        load_tiny(tmp_path, tmp_path / "cache")


def test_splits_must_cover_every_background_alphabet_once(tiny_dir, tmp_path):
    with pytest.raises(ValueError, match="exactly one split"):
        load_tiny(tiny_dir, tmp_path / "cache", splits={"train": ("Alpha", "Beta", "Gamma")})


def test_evaluation_zip_is_optional_and_becomes_its_own_split(tiny_dir, tmp_path):
    without = load_tiny(tiny_dir, tmp_path / "cache")
    write_zip(tiny_dir / "images_evaluation.zip", "images_evaluation", {"Omega": 2}, seed=1)
    both = load_tiny(tiny_dir, tmp_path / "cache", evaluation=TINY_EVALUATION)
    assert both.splits == ("train", "val", "test", "evaluation")
    assert both.split_characters("evaluation").tolist() == [18, 19]
    assert both.alphabets[:4] == without.alphabets
    assert torch.equal(both.images[:18], without.images)


def test_original_png_is_the_drawing_in_the_zip(tiny, tiny_dir):
    character, drawing = 7, 13
    alphabet = tiny.alphabets[tiny.character_alphabet[character]]
    name = f"{alphabet}/{tiny.character_names[character]}/{tiny.drawing_files[character, drawing]}"
    with ZipFile(tiny_dir / "images_background.zip") as zipped:
        expected = Image.open(io.BytesIO(zipped.read(f"images_background/{name}")))
    shown = Image.open(io.BytesIO(tiny.original_png(character, drawing)))
    assert shown.format == "PNG" and shown.size == (105, 105)
    assert np.array_equal(np.asarray(shown.convert("L")), np.asarray(expected.convert("L")))


@pytest.mark.parametrize(
    ("character", "drawing", "error"),
    [
        (-1, 0, ValueError),
        (18, 0, ValueError),
        (0, 20, ValueError),
        (True, 0, TypeError),
        (0, "3", TypeError),
        (0, 1.0, TypeError),
        ("../../etc/passwd", 0, TypeError),
    ],
)
def test_original_png_validates_ids(tiny, character, drawing, error):
    with pytest.raises(error):
        tiny.original_png(character, drawing)


# The episode sampler


def test_episode_shapes_and_dtypes(tiny):
    batch, ids = sample(tiny, n_tasks=3, k_support=2, k_query=4, n_way=4)
    assert batch.xs.shape == (3, 8, 1, 28, 28) and batch.xs.dtype == torch.float32
    assert batch.xq.shape == (3, 16, 1, 28, 28) and batch.xq.dtype == torch.float32
    assert batch.ys.shape == (3, 8) and batch.ys.dtype == torch.int64
    assert batch.yq.shape == (3, 16) and batch.yq.dtype == torch.int64
    assert ids.support.shape == (3, 8, 4) and ids.query.shape == (3, 16, 4)
    assert len(batch) == 3


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_episodes_are_exact(tiny, split):
    n_way, k_support, k_query = 4, 3, 5
    batch, ids = sample(tiny, 20, k_support, k_query, split=split, n_way=n_way)
    for t in range(20):
        labels = torch.cat([batch.ys[t], batch.yq[t]])
        rows = torch.cat([ids.support[t], ids.query[t]])
        images = torch.cat([batch.xs[t], batch.xq[t]])
        assert sorted(labels.tolist()) == sorted(list(range(n_way)) * (k_support + k_query))
        characters = {n: set(rows[labels == n, 1].tolist()) for n in range(n_way)}
        assert all(len(c) == 1 for c in characters.values()), "a label spans two characters"
        assert len(set.union(*characters.values())) == n_way, "two labels share a character"
        for n in range(n_way):
            assert len(set(rows[labels == n, 2].tolist())) == k_support + k_query
        for (alphabet, character, drawing, turns), image in zip(rows, images, strict=True):
            assert alphabet == tiny.character_alphabet[character] and turns == 0
            assert torch.equal(image[0], tiny.images[character, drawing].float() / 255)


def test_episodes_never_leave_their_split(tiny):
    for split in ("train", "val", "test"):
        _, ids = sample(tiny, 50, 1, 1, split=split, n_way=3)
        used = set(torch.cat([ids.support, ids.query], dim=1)[..., 1].flatten().tolist())
        assert used <= set(tiny.split_characters(split).tolist())


def test_labels_are_given_in_random_order(tiny):
    _, ids = sample(tiny, 50, 1, 1, n_way=3)
    first_character = ids.support[:, 0, 1]
    assert len(set(first_character.tolist())) > 3
    by_label = ids.support[:, :, 1]
    assert not torch.equal(by_label, by_label.sort(dim=1).values)


def test_within_alphabet_episodes_use_one_alphabet(tiny):
    _, ids = sample(tiny, 60, 1, 1, n_way=3, within_alphabet=True)
    alphabets = ids.support[..., 0]
    assert (alphabets == alphabets[:, :1]).all()
    assert set(alphabets[:, 0].tolist()) == {0, 2}  # Alpha and Delta, both in train


def test_within_alphabet_fails_clearly_for_small_alphabets(tiny):
    with pytest.raises(ValueError, match=r"these have fewer: Delta \(3\)"):
        OmniglotTasks(tiny, "train", n_way=4, within_alphabet=True)


def test_rotations_are_extra_classes_for_train_only(tiny):
    batch, ids = sample(tiny, 40, 1, 1, n_way=4, rotations=True)
    turns = ids.support[..., 3]
    assert set(turns.flatten().tolist()) == {0, 1, 2, 3}
    for image, (_, character, drawing, k) in zip(
        batch.xs.flatten(0, 1), ids.support.flatten(0, 1), strict=True
    ):
        expected = torch.rot90(tiny.images[character, drawing], int(k)).float() / 255
        assert torch.equal(image[0], expected)
    with pytest.raises(ValueError, match="meta-training only"):
        OmniglotTasks(tiny, "val", rotations=True)


def test_sampler_is_deterministic(tiny):
    first, first_ids = sample(tiny, seed=5, rotations=True)
    again, again_ids = sample(tiny, seed=5, rotations=True)
    other, _ = sample(tiny, seed=6, rotations=True)
    for name in ("xs", "ys", "xq", "yq"):
        assert torch.equal(getattr(first, name), getattr(again, name))
    assert torch.equal(first_ids.support, again_ids.support)
    assert torch.equal(first_ids.query, again_ids.query)
    assert not torch.equal(first.xs, other.xs)


def test_sample_returns_the_same_batch_as_sample_with_ids(tiny):
    tasks = OmniglotTasks(tiny)
    plain = tasks.sample(4, 1, 2, torch.Generator().manual_seed(1))
    with_ids, _ = tasks.sample_with_ids(4, 1, 2, torch.Generator().manual_seed(1))
    assert torch.equal(plain.xq, with_ids.xq)


def test_impossible_episodes_are_refused(tiny):
    with pytest.raises(ValueError, match="k_support \\+ k_query ≤ 20"):
        sample(tiny, k_support=5, k_query=16)
    with pytest.raises(ValueError, match="split 'test' has 4 characters < 5"):
        OmniglotTasks(tiny, "test", n_way=5)


# The cache


def test_cache_is_written_once_and_reused(tiny_dir, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    first = load_tiny(tiny_dir, cache_dir)
    assert len(list(cache_dir.iterdir())) == 1 and not list(cache_dir.glob("*.part"))
    monkeypatch.setattr(omniglot, "_preprocess", pytest.fail)
    second = load_tiny(tiny_dir, cache_dir)
    assert torch.equal(first.images, second.images)
    assert np.array_equal(first.originals, second.originals)
    assert first.drawing_files.tolist() == second.drawing_files.tolist()


def test_new_zip_content_invalidates_the_cache(tiny_dir, tmp_path):
    cache_dir = tmp_path / "cache"
    before = load_tiny(tiny_dir, cache_dir)
    write_zip(tiny_dir / "images_background.zip", "images_background", TINY_ALPHABETS, seed=9)
    after = load_tiny(tiny_dir, cache_dir)
    assert len(list(cache_dir.glob("omniglot-*.npz"))) == 2
    assert not torch.equal(before.images, after.images)


def test_cache_key_follows_mtime_and_preprocess_version(tiny_dir, monkeypatch):
    zip_path = tiny_dir / "images_background.zip"
    key = cache_key([zip_path])
    assert cache_key([zip_path]) == key
    stat = zip_path.stat()
    os.utime(zip_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    touched = cache_key([zip_path])
    assert touched != key
    monkeypatch.setattr(omniglot, "PREPROCESS_VERSION", omniglot.PREPROCESS_VERSION + 1)
    assert cache_key([zip_path]) not in (key, touched)


# Downloading


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def file_server(tmp_path, monkeypatch):
    """Serves ``tmp_path / "served"`` on 127.0.0.1; yields (folder, base URL)."""
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(QuietHandler, directory=str(served))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        yield served, f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()
        thread.join()


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_download_with_matching_md5(file_server, tmp_path, capsys):
    served, base_url = file_server
    official = write_zip(served / "images_background.zip", "images_background", TINY_ALPHABETS)
    archive = Archive("images_background", md5_of(official), 4, 18)
    data_dir = tmp_path / "data"
    data = load_tiny(data_dir, tmp_path / "cache", base_url=base_url, background=archive)
    assert (data_dir / "images_background.zip").read_bytes() == official.read_bytes()
    assert os.listdir(data_dir) == ["images_background.zip"]
    assert data.images.shape[0] == 18
    assert "images_background.zip" in capsys.readouterr().err  # the progress bar


def test_download_with_wrong_md5_keeps_nothing(file_server, tmp_path):
    served, base_url = file_server
    write_zip(served / "images_background.zip", "images_background", TINY_ALPHABETS)
    data_dir = tmp_path / "data"
    with pytest.raises(ChecksumError, match="expected 0123") as error:
        ensure_archive(data_dir, Archive("images_background", "0123", 4, 18), base_url)
    assert str(data_dir.resolve() / "images_background.zip") in str(error.value)
    assert os.listdir(data_dir) == []


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_offline_error_says_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with pytest.raises(DownloadError) as error:
        ensure_archive(tmp_path, BACKGROUND, f"http://127.0.0.1:{closed_port()}")
    message = str(error.value)
    assert f"put it at {tmp_path.resolve() / 'images_background.zip'}" in message
    assert BACKGROUND.md5 in message and "could not download" in message
    assert os.listdir(tmp_path) == []


def test_a_silent_server_times_out_with_the_same_message(tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        base_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(DownloadError, match="timed out.*put it at"):
            ensure_file(tmp_path / "images_background.zip", "0123", base_url, timeout=0.2)


def test_no_base_url_means_no_download(tmp_path):
    with pytest.raises(DownloadError, match="downloading is switched off.*put it at"):
        load_omniglot(tmp_path, tmp_path / "cache", base_url=None)


# The real background set


@pytest.mark.slow
@pytest.mark.skipif(
    not (REAL_DIR / "images_background.zip").is_file(),
    reason=f"no Omniglot background set at {REAL_DIR} (set MAML_OMNIGLOT_DIR to its folder)",
)
def test_real_background_set(tmp_path):
    data = load_omniglot(REAL_DIR, tmp_path, base_url=None)  # validates 30 alphabets, 964 chars
    assert data.images.shape == (964, 20, 28, 28)
    sizes = {split: len(data.split_characters(split)) for split in ("train", "val", "test")}
    assert sizes == {"train": 646, "val": 158, "test": 160}
    start = time.perf_counter()
    warm = load_omniglot(REAL_DIR, tmp_path, base_url=None)
    assert time.perf_counter() - start < 2.0
    tasks = OmniglotTasks(warm, "test", n_way=20, within_alphabet=True)
    batch, ids = tasks.sample_with_ids(1, 1, 5, torch.Generator().manual_seed(0))
    assert batch.xs.shape == (1, 20, 1, 28, 28) and batch.xq.shape == (1, 100, 1, 28, 28)
    assert len(set(ids.support[0, :, 1].tolist())) == 20
    character, drawing = ids.query[0, 0, 1:3].tolist()
    assert Image.open(io.BytesIO(warm.original_png(character, drawing))).size == (105, 105)
