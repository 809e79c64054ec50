"""Tests of the lwnpu Python package against the C library and npu-run.

Every result is compared byte for byte with what `npu-run --output`
writes for the same model and input, on cpu and on sim. The models are
the committed Fashion-MNIST ones (32x32), the smallest of them on sim,
whose RTL simulation takes about a second of host time per inference.
A library built without sim (make BACKENDS=null) skips the sim cases and
says so.
"""

import os
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

import lwnpu

MODEL = "models/fmnist_squeezenet1_1.npu"
DEVICES = ["cpu", "sim"]


@pytest.fixture(scope="module")
def model_path(repo):
    """The test model (absolute path)."""
    return os.path.join(repo, MODEL)


def built_backends():
    """The driver backends the library was built with, as BACKENDS spells them."""
    return " ".join(n for n in lwnpu.backend_names() if n != "cpu")


@pytest.fixture(scope="module", params=DEVICES)
def dev(request):
    """One open device per URI, shared by the tests of this module; a
    backend the build left out is a skip with the reason."""
    if request.param not in lwnpu.backend_names():
        pytest.skip(f"{request.param} backend not built: BACKENDS={built_backends()}")
    d = lwnpu.open(request.param)
    yield d
    d.close()


@pytest.fixture(scope="module")
def model(dev, model_path):
    """The test model loaded on dev."""
    return dev.load(model_path)


def npu_run(build, tmp_path, model_path, uri, x, extra=()):
    """What npu-run --output writes for input x (saved as .npy)."""
    xin = tmp_path / "x.npy"
    yout = tmp_path / "y.npy"
    np.save(xin, x)
    cmd = [os.path.join(build, "bin", "npu-run"), model_path, "--device", uri]
    cmd += ["--input", str(xin), "--output", str(yout), *extra]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return np.load(yout)


def rand_input(model, seed, dtype=np.float32):
    """A deterministic NHWC input of the model's shape."""
    rng = np.random.default_rng(seed)
    shape = model.input.shape
    if dtype == np.int8:
        return rng.integers(-128, 128, size=shape, dtype=np.int8)
    return rng.uniform(-2, 2, size=shape).astype(np.float32)


def test_library_is_the_build_trees(build):
    """The tests run against the build's libnpu.so.1 (or $LWNPU_LIBRARY)."""
    want = os.environ.get("LWNPU_LIBRARY") or os.path.join(build, lwnpu.SONAME)
    assert os.path.samefile(lwnpu.library_path(), want)
    # "cpu", then the driver backends (tests/driver checks them against BACKENDS).
    names = lwnpu.backend_names()
    assert names[0] == "cpu"


def test_run_float_matches_npu_run(build, tmp_path, model_path, dev, model):
    """float32 NHWC in, float32 out: npu-run's bytes."""
    x = rand_input(model, 1)
    y = model.run(x)
    assert y.dtype == np.float32 and y.shape == model.output.shape
    ref = npu_run(build, tmp_path, model_path, dev.uri, x)
    assert y.tobytes() == ref.tobytes()


def test_run_nchw_matches_npu_run(build, tmp_path, model_path, dev, model):
    """layout="NCHW" takes PyTorch's order: the same bytes as npu-run --nchw."""
    x = rand_input(model, 2).transpose(0, 3, 1, 2).copy()
    y = model.run(x, layout="NCHW")
    n, h, w, c = model.output.shape
    assert y.shape == (n, c, h, w)
    ref = npu_run(build, tmp_path, model_path, dev.uri, x, ["--nchw"])
    assert y.tobytes() == ref.tobytes()


def test_run_int8_matches_npu_run(build, tmp_path, model_path, dev, model):
    """int8 in (raw quantized bytes, batch dimension left out) and both output types."""
    xq = rand_input(model, 3, np.int8)[0]
    ref = npu_run(build, tmp_path, model_path, dev.uri, xq)
    y = model.run(xq)
    assert y.tobytes() == ref.tobytes()
    yq = model.run(xq, out_dtype=np.int8)
    assert yq.dtype == np.int8
    o = model.output
    assert (o.scale * (yq.astype(np.float32) - o.zero_point)).tobytes() == ref.tobytes()


def test_submit_wait_in_order(dev, model):
    """Two queued jobs give what run gives for each input."""
    xs = [rand_input(model, s) for s in (4, 5)]
    jobs = [model.submit(x) for x in xs]
    ys = [j.wait() for j in jobs]
    for x, y in zip(xs, ys):
        assert y.tobytes() == model.run(x).tobytes()
    with pytest.raises(lwnpu.NPUError) as e:
        jobs[0].wait()
    assert e.value.name == "NPU_ERR_INVALID_ARG"


def test_profile_is_a_list_of_dicts(dev, model):
    """One dict per layer of the last run; cycles on sim only."""
    model.run(rand_input(model, 6))
    prof = model.profile()
    assert len(prof) == model.num_layers
    keys = {"name", "op", "engine", "cycles", "cpu_ns", "macs", "dram_bytes", "bound_cycles", "folded"}
    assert all(set(p) == keys for p in prof)
    assert sum(p["macs"] for p in prof) > 0
    cycles = sum(p["cycles"] for p in prof)
    assert (cycles > 0) == (dev.uri.startswith("sim"))
    assert model.cost()["macs"] > 0


def test_threads_share_one_model(dev, model):
    """Threads run one model on one device at once (4 x 5 runs on cpu,
    3 x 2 on sim, whose runs take a second each): every output equals
    the single-threaded one, byte for byte."""
    threads, runs = (3, 2) if dev.uri.startswith("sim") else (4, 5)
    xs = [rand_input(model, 10 + i) for i in range(threads)]
    want = [model.run(x).tobytes() for x in xs]
    got = [[] for _ in xs]
    errors = []

    def worker(i):
        try:
            for _ in range(runs):
                got[i].append(model.run(xs[i]).tobytes())
        except Exception as e:  # reported below, not lost in the thread
            errors.append(e)

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    for i, g in enumerate(got):
        assert g == [want[i]] * runs, "thread %d" % i


# ---- errors ------------------------------------------------------------


def test_bad_uri():
    with pytest.raises(lwnpu.NPUError) as e:
        lwnpu.open("nosuchdevice")
    assert e.value.name == "NPU_ERR_NO_DEVICE"
    assert e.value.status == -4


def test_bad_path():
    with lwnpu.open("cpu") as d:
        with pytest.raises(lwnpu.NPUError) as e:
            d.load("/nonexistent/model.npu")
    assert e.value.name == "NPU_ERR_IO"
    assert e.value.detail  # npu_last_error() says which file


def test_corrupt_model_carries_last_error(model_path):
    """A flipped byte: NPU_ERR_MODEL_CHECKSUM, with the library's detail."""
    data = bytearray(open(model_path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    with lwnpu.open("cpu") as d:
        with pytest.raises(lwnpu.NPUError) as e:
            d.load_bytes(data)
    assert e.value.name == "NPU_ERR_MODEL_CHECKSUM"
    assert e.value.detail and e.value.detail in str(e.value)


def test_wrong_shape_dtype_layout(dev, model):
    x = rand_input(model, 7)
    with pytest.raises(lwnpu.NPUError) as e:
        model.run(x[:, :-1])
    assert e.value.name == "NPU_ERR_SHAPE"
    with pytest.raises(lwnpu.NPUError) as e:
        model.run(x, layout="NCHW")  # NHWC data called NCHW: C and W swapped
    assert e.value.name == "NPU_ERR_SHAPE"
    with pytest.raises(lwnpu.NPUError) as e:
        model.run(x.astype(np.float64))
    assert e.value.name == "NPU_ERR_INVALID_ARG"
    with pytest.raises(lwnpu.NPUError) as e:
        model.run(x, layout="HWCN")
    assert e.value.name == "NPU_ERR_INVALID_ARG"


def test_pip_install_offline(repo, build, tmp_path):
    """pip installs python/ without network (Debian's setuptools), and the
    installed package imports and runs (found by $NPU_BUILD)."""
    # From a copy: setuptools writes build/ and *.egg-info next to the source.
    src = tmp_path / "src"
    shutil.copytree(os.path.join(repo, "python"), src,
                    ignore=shutil.ignore_patterns("tests", "__pycache__", "build", "*.egg-info"))
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-build-isolation",
         "--no-deps", "--target", str(target), str(src)],
        check=True,
        cwd=tmp_path,
    )
    code = (
        "import lwnpu, numpy as np; d = lwnpu.open('cpu'); "
        "m = d.load(%r); print(lwnpu.__file__); print(m.run(np.zeros(m.input.shape, np.float32)).size)"
        % os.path.join(repo, MODEL)
    )
    env = dict(os.environ, PYTHONPATH=str(target), NPU_BUILD=build)
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = r.stdout.split()
    assert out[0].startswith(str(target))
    assert out[1] == "10"
