"""The caption draw and the caption file: deterministic, one caption per distinct image, hashed, refused when edited."""

import hashlib
import json
import time

import open_clip
import pytest

from benchbox.errors import BenchboxError
from benchbox.t2i.captions import (
    draw_captions,
    make_caption_list,
    read_caption_file,
    truncated_count,
    write_caption_file,
)


def synthetic_annotations(images: int, per_image: int) -> dict:
    """A COCO-format caption file: image i has captions with ids i*per_image + k."""
    return {
        "images": [{"id": 1000 + i, "file_name": f"COCO_val2014_{1000 + i:012d}.jpg"} for i in range(images)],
        "annotations": [
            {"image_id": 1000 + i, "id": i * per_image + k, "caption": f"  image {i} caption {k}\n"}
            for i in range(images)
            for k in range(per_image)
        ],
    }


@pytest.fixture(scope="module")
def large():
    return synthetic_annotations(40_000, 5)


def test_thirty_thousand_distinct_images_one_caption_each_deterministic(large):
    t0 = time.perf_counter()
    first = make_caption_list(large, "synthetic.json", "0" * 64, n=30_000, seed=0)
    assert time.perf_counter() - t0 < 20
    again = make_caption_list(large, "synthetic.json", "0" * 64, n=30_000, seed=0)
    other = make_caption_list(large, "synthetic.json", "0" * 64, n=30_000, seed=1)
    ids = [r.image_id for r in first.rows]
    assert len(ids) == 30_000 and len(set(ids)) == 30_000
    assert first.rows == again.rows and first.list_sha256 == again.list_sha256
    assert [r.image_id for r in other.rows] != ids and other.list_sha256 != first.list_sha256
    for r in first.rows[:500]:  # each caption is one of its own image's, whitespace cleaned, and names its file
        i = r.image_id - 1000
        assert r.caption_id // 5 == i and r.caption == f"image {i} caption {r.caption_id % 5}"
        assert r.file_name == f"COCO_val2014_{r.image_id:012d}.jpg"
    assert [r.index for r in first.rows] == list(range(30_000))


def test_draw_follows_the_documented_sha256_ranks():
    """Images ranked by SHA-256("<seed>:<image id>"), each with its caption of the smallest SHA-256("<seed>:<image
    id>:<caption id>"), computed here straight from the rule."""
    annotations = synthetic_annotations(6, 3)
    rank = lambda text: hashlib.sha256(text.encode()).digest()  # noqa: E731
    images = sorted(range(1000, 1006), key=lambda i: rank(f"7:{i}"))[:4]
    expected = [(i, min(range((i - 1000) * 3, (i - 1000) * 3 + 3), key=lambda c: rank(f"7:{i}:{c}"))) for i in images]
    assert [(r.image_id, r.caption_id) for r in draw_captions(annotations, n=4, seed=7)] == expected


def test_too_many_captions_asked_is_one_error():
    with pytest.raises(BenchboxError, match="cannot draw 7 captions .* 6 captioned images"):
        draw_captions(synthetic_annotations(6, 1), n=7)


def test_caption_file_round_trip_and_refusals(tmp_path):
    captions = make_caption_list(synthetic_annotations(20, 2), "a.json", "1" * 64, n=10, seed=3)
    path = tmp_path / "captions.jsonl"
    write_caption_file(path, captions)
    back = read_caption_file(path)
    assert back == captions
    assert read_caption_file(path, captions.list_sha256[:10]).list_sha256 == captions.list_sha256
    with pytest.raises(BenchboxError, match="not the expected"):
        read_caption_file(path, "deadbeef")

    lines = path.read_text().splitlines()
    row = json.loads(lines[3])
    row["caption"] = "a caption of my choosing"
    (tmp_path / "edited.jsonl").write_text("\n".join([*lines[:3], json.dumps(row), *lines[4:]]) + "\n")
    with pytest.raises(BenchboxError, match="does not match its own header"):
        read_caption_file(tmp_path / "edited.jsonl")
    (tmp_path / "short.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(BenchboxError, match="does not match its own header"):
        read_caption_file(tmp_path / "short.jsonl")

    header = json.loads(lines[0])
    header["version"] = 99
    (tmp_path / "other.jsonl").write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    with pytest.raises(BenchboxError, match="written for protocol coco-t2i v99"):
        read_caption_file(tmp_path / "other.jsonl")
    (tmp_path / "plain.txt").write_text("a cat\na dog\n")
    with pytest.raises(BenchboxError, match="not a benchbox caption file"):
        read_caption_file(tmp_path / "plain.txt")
    with pytest.raises(BenchboxError, match="does not exist"):
        read_caption_file(tmp_path / "missing.jsonl")


def test_captions_over_77_tokens_are_counted():
    """ "cat" is one BPE token: with the start and end tokens, 75 words fill the 77-token context, 76 overflow it."""
    tokenizer = open_clip.get_tokenizer("ViT-B-32")
    fits, over, far_over = " ".join(["cat"] * 75), " ".join(["cat"] * 76), " ".join(["cat"] * 200)
    assert truncated_count(["a cat", fits, over, far_over], tokenizer) == 2
    assert int(open_clip.tokenize([fits])[0, -1]) == tokenizer.eot_token_id  # the fitting one ends in its own end
