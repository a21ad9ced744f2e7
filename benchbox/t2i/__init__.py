"""The text-to-image protocol `coco-t2i` (COCO FID-30K and CLIP score) for models benchbox does not train.

`captions` draws the caption list and writes it with its hash, `coco` finds (or downloads) COCO 2014's files, `samples`
reads the user's images (a folder, an array file or a hook) in caption order, `score` measures FID and the CLIP score
through the engine's pipeline and builds the store's records; `protocol` holds every stated setting
(docs/t2i.md).
"""
