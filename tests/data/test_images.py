"""Images at the engine boundary: to_uint8 against hand-computed values, every refusal of check_images with the fix
it names, and load_images round-tripping files written here with PIL and numpy."""

import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

from benchbox.data.images import check_images, content_hash, load_images, to_uint8
from benchbox.errors import BenchboxError


def refusal(x, *fragments):
    with pytest.raises(BenchboxError) as err:
        check_images(x)
    for fragment in fragments:
        assert fragment in str(err.value), str(err.value)
    return str(err.value)


def random_uint8(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


# to_uint8


def test_to_uint8_maps_ends_and_middle_by_hand():
    x = torch.tensor([-1.0, 1.0, 0.0, -0.5, 0.5])
    # (x + 1) · 127.5 = 0, 255, 127.5, 63.75, 191.25; 127.5 rounds half to even -> 128
    assert to_uint8(x).tolist() == [0, 255, 128, 64, 191]
    assert to_uint8(x).dtype == torch.uint8


def test_to_uint8_clamps_out_of_range():
    x = torch.tensor([-7.0, -1.0001, 1.0001, 3.0])
    assert to_uint8(x).tolist() == [0, 0, 255, 255]


@pytest.mark.parametrize("bad", [float("inf"), float("-inf")])
def test_to_uint8_refuses_infinite_output(bad):
    with pytest.raises(BenchboxError, match="NaN or Inf"):
        to_uint8(torch.tensor([0.0, bad]))


def test_to_uint8_agrees_with_exact_arithmetic_on_a_grid():
    x = torch.linspace(-1.2, 1.2, 2001, dtype=torch.float64)
    exact = np.clip(np.round((x.numpy().clip(-1, 1) + 1) * 127.5), 0, 255)  # numpy also rounds half to even
    assert np.array_equal(to_uint8(x).numpy(), exact.astype(np.uint8))


def test_to_uint8_keeps_shape_and_does_not_touch_input_or_autograd():
    x = torch.rand(2, 3, 4, 5, requires_grad=True) * 2 - 1
    before = x.detach().clone()
    y = to_uint8(x)
    assert y.shape == (2, 3, 4, 5) and not y.requires_grad and torch.equal(x.detach(), before)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_to_uint8_of_half_precision_equals_exact_rounding_of_the_same_values(dtype):
    x = torch.linspace(-1, 1, 4001).to(dtype)
    exact = np.round((x.double().numpy() + 1) * 127.5).astype(np.uint8)
    assert np.array_equal(to_uint8(x).numpy(), exact)


def test_to_uint8_refuses_nan():
    with pytest.raises(BenchboxError, match="NaN"):
        to_uint8(torch.tensor([0.0, float("nan")]))


# check_images


def test_check_images_accepts_uint8_nchw_gray_and_rgb_without_copy():
    for c in (1, 3):
        x = torch.from_numpy(random_uint8((2, c, 5, 6)))
        assert check_images(x) is x
    arr = random_uint8((2, 3, 5, 6))
    out = check_images(arr)
    assert isinstance(out, torch.Tensor) and np.shares_memory(out.numpy(), arr)


def test_float_in_0_1_hint_says_times_255():
    refusal(torch.rand(2, 3, 8, 8), "[0, 1]", "* 255")


def test_float_in_minus1_1_hint_says_to_uint8():
    refusal(torch.rand(2, 3, 8, 8) * 2 - 1, "[-1, 1]", "to_uint8")


def test_float_in_0_255_is_refused_with_its_range():
    refusal(torch.full((2, 3, 8, 8), 200.0), "[200, 200]", "uint8")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_or_inf_is_refused(bad):
    x = torch.zeros(2, 3, 8, 8)
    x[1, 2, 3, 4] = bad
    refusal(x, "NaN or Inf")


def test_other_integer_dtype_is_refused():
    refusal(torch.zeros(2, 3, 8, 8, dtype=torch.int64), "int64", "uint8")


def test_nhwc_passed_as_nchw_hint_says_permute():
    message = refusal(torch.from_numpy(random_uint8((2, 16, 16, 3))), "permute(0, 3, 1, 2)")
    assert "(2, 16, 16, 3)" in message


@pytest.mark.parametrize(("channels", "keep"), [(2, "x[:, :1]"), (4, "x[:, :3]")])
def test_two_or_four_channels_are_refused_with_what_to_keep(channels, keep):
    # RGBA keeps RGB; gray + alpha keeps gray (x[:, :3] of a 2-channel image would keep the alpha)
    line = refusal(torch.from_numpy(random_uint8((2, channels, 16, 16))), f"{channels} channels", keep)
    assert ("alpha" in line) and (channels == 4 or "drop alpha" not in line)


def test_empty_batch_is_refused():
    refusal(torch.zeros(0, 3, 8, 8, dtype=torch.uint8), "empty")


@pytest.mark.parametrize("shape", [(3, 8, 8), (1, 2, 3, 8, 8)])
def test_not_four_dimensional_is_refused(shape):
    refusal(torch.zeros(shape, dtype=torch.uint8), str(shape), "4-D")


def test_a_list_is_refused():
    refusal([[1, 2]], "list")


# content_hash


def test_content_hash_is_sha256_of_shape_and_pixels_and_ignores_memory_layout():
    x = torch.from_numpy(random_uint8((3, 3, 4, 5)))
    expected = hashlib.sha256(b"(3, 3, 4, 5)" + x.numpy().tobytes()).hexdigest()
    assert content_hash(x) == expected
    strided = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)  # same values, channels-last storage
    assert not strided.is_contiguous() and content_hash(strided) == expected


def test_content_hash_is_equal_for_same_pixels_from_different_files(tmp_path):
    nhwc = random_uint8((4, 6, 7, 3))
    np.save(tmp_path / "a.npy", nhwc)
    np.savez(tmp_path / "b.npz", images=nhwc)
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, im in enumerate(nhwc):
        Image.fromarray(im).save(folder / f"{i:03d}.png")
    hashes = {content_hash(load_images(p)) for p in (tmp_path / "a.npy", tmp_path / "b.npz", folder)}
    assert len(hashes) == 1


def test_content_hash_changes_with_one_pixel_and_with_shape():
    x = torch.from_numpy(random_uint8((3, 3, 4, 4)))
    y = x.clone()
    y[2, 1, 3, 0] ^= 1
    assert content_hash(x) != content_hash(y)
    assert content_hash(x) != content_hash(x.reshape(3, 3, 2, 8))


# load_images


def write_pngs(folder, arrays, suffix=".png"):
    folder.mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(arrays):
        Image.fromarray(a).save(folder / f"img{i:03d}{suffix}")
    return folder


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_png_folder_round_trips_exactly(tmp_path, mode):
    shape = (5, 9, 11, 3) if mode == "RGB" else (5, 9, 11)
    arrays = random_uint8(shape, seed=1)
    folder = write_pngs(tmp_path / mode, arrays)
    for i in range(len(arrays)):  # PIL wrote the mode asked for
        assert Image.open(folder / f"img{i:03d}.png").mode == mode
    loaded = load_images(folder)
    expected = arrays.transpose(0, 3, 1, 2) if mode == "RGB" else arrays[:, None]
    assert loaded.dtype == torch.uint8 and loaded.is_contiguous()
    np.testing.assert_array_equal(loaded.numpy(), expected)


def test_png_folder_is_read_in_sorted_name_order_and_ignores_other_files(tmp_path):
    arrays = random_uint8((3, 4, 4, 3), seed=2)
    folder = tmp_path / "f"
    folder.mkdir()
    for name, a in zip(["c.png", "a.PNG", "b.png"], arrays, strict=True):
        Image.fromarray(a).save(folder / name, format="PNG")
    (folder / "notes.txt").write_text("not an image")
    loaded = load_images(folder)
    np.testing.assert_array_equal(loaded.numpy(), arrays[[1, 2, 0]].transpose(0, 3, 1, 2))


def test_jpeg_folder_loads_as_pil_decodes_it(tmp_path):
    arrays = np.kron(random_uint8((3, 2, 2, 3), seed=4), np.ones((1, 8, 8, 1), np.uint8))  # flat 8×8 blocks
    folder = tmp_path / "jpg"
    folder.mkdir()
    for i, a in enumerate(arrays):
        Image.fromarray(a).save(folder / f"{i}.jpg" if i else folder / f"{i}.jpeg", quality=90)
    loaded = load_images(folder)
    assert loaded.shape == (3, 3, 16, 16) and loaded.dtype == torch.uint8
    decoded = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.iterdir())])
    np.testing.assert_array_equal(loaded.numpy(), decoded.transpose(0, 3, 1, 2))
    assert (
        np.abs(loaded.numpy().astype(int) - arrays.transpose(0, 3, 1, 2)).mean() < 8
    )  # lossy, but close on flat blocks


def test_empty_folder_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images")
    with pytest.raises(BenchboxError, match="no PNG or JPEG"):
        load_images(tmp_path / "empty")


def test_corrupt_png_is_refused_naming_the_file(tmp_path):
    folder = write_pngs(tmp_path / "f", random_uint8((2, 4, 4, 3)))
    bad = folder / "img999.png"
    bad.write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(BenchboxError) as err:
        load_images(folder)
    assert str(bad) in str(err.value) and "corrupt" in str(err.value)


def test_truncated_png_is_refused_naming_the_file(tmp_path):
    folder = write_pngs(tmp_path / "f", random_uint8((2, 32, 32, 3)))
    victim = folder / "img001.png"
    victim.write_bytes(victim.read_bytes()[:200])
    with pytest.raises(BenchboxError, match="img001.png"):
        load_images(folder)


def test_rgba_png_is_refused_naming_file_and_mode(tmp_path):
    folder = write_pngs(tmp_path / "f", random_uint8((2, 4, 4, 3)))
    Image.fromarray(random_uint8((4, 4, 4)), "RGBA").save(folder / "alpha.png")
    with pytest.raises(BenchboxError) as err:
        load_images(folder)
    assert "alpha.png" in str(err.value) and "RGBA" in str(err.value)


def test_one_bit_png_is_refused_naming_file_and_mode(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    Image.fromarray(random_uint8((8, 8)) > 127).save(folder / "bits.png")
    assert Image.open(folder / "bits.png").mode == "1"
    with pytest.raises(BenchboxError) as err:
        load_images(folder)
    assert "bits.png" in str(err.value) and "mode 1" in str(err.value)


def test_mixed_sizes_are_refused(tmp_path):
    folder = write_pngs(tmp_path / "f", random_uint8((2, 8, 8, 3)))
    Image.fromarray(random_uint8((9, 8, 3))).save(folder / "tall.png")
    with pytest.raises(BenchboxError, match="different sizes"):
        load_images(folder)


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
@pytest.mark.parametrize("channels", [1, 3])
def test_nhwc_arrays_load_as_nchw_exactly(tmp_path, suffix, channels):
    nhwc = random_uint8((4, 5, 7, channels), seed=channels)
    path = tmp_path / f"x{suffix}"
    np.save(path, nhwc) if suffix == ".npy" else np.savez_compressed(path, samples=nhwc)
    loaded = load_images(path)
    assert loaded.shape == (4, channels, 5, 7) and loaded.dtype == torch.uint8
    for n, c, h, w in [(0, 0, 0, 0), (3, channels - 1, 4, 6), (2, 0, 1, 5)]:
        assert int(loaded[n, c, h, w]) == int(nhwc[n, h, w, c])
    np.testing.assert_array_equal(loaded.numpy(), np.moveaxis(nhwc, 3, 1))


def test_three_dimensional_array_is_grayscale_nhw(tmp_path):
    nhw = random_uint8((4, 5, 7))
    np.save(tmp_path / "g.npy", nhw)
    np.testing.assert_array_equal(load_images(tmp_path / "g.npy").numpy(), nhw[:, None])


def test_npz_with_two_arrays_is_refused(tmp_path):
    np.savez(tmp_path / "two.npz", images=random_uint8((2, 4, 4, 3)), labels=np.arange(2))
    with pytest.raises(BenchboxError, match="2 arrays"):
        load_images(tmp_path / "two.npz")


def test_nchw_array_in_a_file_is_refused_with_transpose_hint(tmp_path):
    np.save(tmp_path / "nchw.npy", random_uint8((4, 3, 16, 16)))
    with pytest.raises(BenchboxError, match=r"transpose\(0, 2, 3, 1\)"):
        load_images(tmp_path / "nchw.npy")


def test_float_array_in_a_file_gets_the_float_hint(tmp_path):
    np.save(tmp_path / "f.npy", np.random.default_rng(0).random((2, 8, 8, 3)).astype(np.float32))
    with pytest.raises(BenchboxError, match=r"\[0, 1\].*\* 255"):
        load_images(tmp_path / "f.npy")


def test_four_channel_array_in_a_file_is_refused(tmp_path):
    np.save(tmp_path / "rgba.npy", random_uint8((2, 8, 8, 4)))
    with pytest.raises(BenchboxError, match="4 channels"):
        load_images(tmp_path / "rgba.npy")


def test_pickled_or_garbage_array_files_are_refused(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    for name in ("obj.npy", "junk.npz"):
        with pytest.raises(BenchboxError, match="cannot read"):
            load_images(tmp_path / name)


@pytest.mark.parametrize("dtype", ["<U1", ">u2"])
def test_array_of_a_dtype_torch_cannot_hold_is_a_benchbox_error(tmp_path, dtype):
    np.save(tmp_path / "odd.npy", np.zeros((2, 8, 8, 3), dtype=dtype))
    with pytest.raises(BenchboxError):
        load_images(tmp_path / "odd.npy")


def test_missing_path_and_other_files_are_refused(tmp_path):
    with pytest.raises(BenchboxError, match="does not exist"):
        load_images(tmp_path / "absent")
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(BenchboxError, match="not a folder or a .npy/.npz file"):
        load_images(tmp_path / "x.txt")
