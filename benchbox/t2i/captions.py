"""The caption list of the protocol: drawn from COCO's caption annotations, written with its hash, read back checked.

The draw is a pure function of the annotation file, n and the seed, and of nothing else (no library's random number
stream, whose algorithm may change between versions): every image id is ranked by SHA-256("<seed>:<image id>"), the
first n images are taken in that order, and each gets the one of its captions whose SHA-256("<seed>:<image id>:
<caption id>") is smallest. So the list holds n distinct images, one caption each, and the same file and seed give
the same list on any machine. Captions are kept as written, less surrounding and repeated whitespace.

The file is JSON lines: a header (protocol, version, n, seed, the annotation file's SHA-256, the list's SHA-256),
then one row per caption (index, image id, caption id, image file name, caption). The list hash covers the ids and
the captions in order, so two users' numbers are comparable only when their caption files' hashes match; a file
edited after benchbox wrote it no longer matches its own header and is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchbox.errors import BenchboxError
from benchbox.io import write_text_atomic
from benchbox.t2i.protocol import N_CAPTIONS, PROTOCOL_VERSION, SEED, SUITE_NAME

FORMAT_KEY = "benchbox_t2i_captions"  # the header's marker: the file format's version
FORMAT_VERSION = 1
WRITE_HINT = "write the caption file with `benchbox t2i-captions --out FILE`"


@dataclass(frozen=True)
class Caption:
    index: int
    image_id: int
    caption_id: int
    file_name: str
    caption: str


@dataclass(frozen=True)
class CaptionList:
    """A caption file's header and rows; `list_sha256` is recomputed from the rows when read."""

    protocol: str
    version: int
    n: int
    seed: int
    annotations: str  # the annotation file's name as read
    annotations_sha256: str
    list_sha256: str
    rows: tuple[Caption, ...]

    @property
    def captions(self) -> list[str]:
        return [r.caption for r in self.rows]


def _rank(*parts: object) -> bytes:
    return hashlib.sha256(":".join(map(str, parts)).encode()).digest()


def clean_caption(text: str) -> str:
    return " ".join(str(text).split())


def draw_captions(annotations: dict[str, Any], n: int = N_CAPTIONS, seed: int = SEED) -> list[Caption]:
    """n captions of n distinct images of a COCO caption annotation file (parsed JSON), in draw order."""
    try:
        files = {int(im["id"]): str(im["file_name"]) for im in annotations["images"]}
        by_image: dict[int, list[tuple[int, str]]] = {}
        for a in annotations["annotations"]:
            by_image.setdefault(int(a["image_id"]), []).append((int(a["id"]), clean_caption(a["caption"])))
    except (KeyError, TypeError, ValueError) as exc:
        raise BenchboxError(
            f"the annotation file is not in COCO's caption format ({type(exc).__name__}: {exc})",
            "pass captions_val2014.json from COCO's annotations_trainval2014.zip",
        ) from exc
    images = [i for i in by_image if i in files and any(c for _, c in by_image[i])]
    if n < 1 or n > len(images):
        raise BenchboxError(
            f"cannot draw {n} captions of distinct images from an annotation file with {len(images)} captioned images",
            f"pass --n between 1 and {len(images)} (the protocol's is {N_CAPTIONS:,}, from COCO 2014 val)",
        )
    chosen = sorted(images, key=lambda i: _rank(seed, i))[:n]
    rows = []
    for index, image_id in enumerate(chosen):
        caption_id, text = min(
            ((cid, c) for cid, c in by_image[image_id] if c), key=lambda x: _rank(seed, image_id, x[0])
        )
        rows.append(Caption(index, image_id, caption_id, files[image_id], text))
    return rows


def list_sha256(rows: Sequence[Caption]) -> str:
    """SHA-256 of the ids and captions in order: what makes two users' numbers comparable."""
    digest = hashlib.sha256()
    for r in rows:
        digest.update(json.dumps([r.index, r.image_id, r.caption_id, r.caption], ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def make_caption_list(
    annotations: dict[str, Any], annotations_name: str, annotations_sha256: str, n: int = N_CAPTIONS, seed: int = SEED
) -> CaptionList:
    rows = tuple(draw_captions(annotations, n, seed))
    return CaptionList(
        SUITE_NAME, PROTOCOL_VERSION, n, seed, annotations_name, annotations_sha256, list_sha256(rows), rows
    )


def write_caption_file(path: Path, captions: CaptionList) -> None:
    """The caption file, atomically: the header line, then a row per caption."""
    header = {FORMAT_KEY: FORMAT_VERSION, **{k: v for k, v in asdict(captions).items() if k != "rows"}}
    lines = [json.dumps(header, ensure_ascii=False)]
    lines += [json.dumps(asdict(r), ensure_ascii=False) for r in captions.rows]
    write_text_atomic(path, "\n".join(lines) + "\n")


def read_caption_file(path: Path, expect_sha256: str = "") -> CaptionList:
    """A caption file written by benchbox for this protocol version, whose rows still match its hash (and the hash
    `expect_sha256` starts with, where given); anything else is refused in one line."""
    path = Path(path)
    if not path.is_file():
        raise BenchboxError(f"caption file '{path}' does not exist", WRITE_HINT)
    try:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        header = lines[0] if lines and isinstance(lines[0], dict) else {}
        if header.get(FORMAT_KEY) != FORMAT_VERSION:
            raise ValueError("no benchbox caption header")
        rows = tuple(Caption(**row) for row in lines[1:])
        fields = {k: header[k] for k in ("protocol", "version", "n", "seed", "annotations", "annotations_sha256")}
        if isinstance(fields["n"], bool) or not isinstance(fields["n"], int):
            raise TypeError(f"its header's n is {fields['n']!r}, not a count of captions")
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
        raise BenchboxError(f"'{path}' is not a benchbox caption file ({exc})", WRITE_HINT) from exc
    if (fields["protocol"], fields["version"]) != (SUITE_NAME, PROTOCOL_VERSION):
        raise BenchboxError(
            f"caption file '{path}' was written for protocol {fields['protocol']} v{fields['version']}, not "
            f"{SUITE_NAME} v{PROTOCOL_VERSION}",
            WRITE_HINT,
        )
    found = list_sha256(rows)
    if found != header.get("list_sha256") or [r.index for r in rows] != list(range(fields["n"])):
        raise BenchboxError(
            f"caption file '{path}' does not match its own header (its rows hash to {found[:12]}, the header says "
            f"{str(header.get('list_sha256'))[:12]}, for {fields['n']} rows; it has {len(rows)})",
            "the file was edited or truncated; " + WRITE_HINT,
        )
    if expect_sha256 and not found.startswith(expect_sha256.lower()):
        raise BenchboxError(
            f"caption file '{path}' has list hash {found[:16]}…, not the expected {expect_sha256}",
            "numbers are comparable only on the same caption list; use the file whose hash was published",
        )
    return CaptionList(**fields, list_sha256=found, rows=rows)


def truncated_count(captions: Sequence[str], tokenizer: Any) -> int:
    """Captions longer than the tokenizer's context (open_clip's SimpleTokenizer: start, BPE tokens, end), which
    tokenizing truncates to its context length (77 for every CLIP)."""
    return sum(len(tokenizer.encode(c)) + 2 > tokenizer.context_length for c in captions)
