"""lwnpu: run lwnpu int8 models from Python.

A thin ctypes layer over libnpu's C API (lib/include/npu.h); no compiled
extension. numpy arrays go in and come out::

    import lwnpu
    dev = lwnpu.open("sim")                 # "cpu", "sim", None: $NPU_DEVICE
    model = dev.load("model.npu")
    y = model.run(x)                        # x: float32 or int8, NHWC
    y = model.run(x_nchw, layout="NCHW")
    job = model.submit(x); y = job.wait()
    layers = model.profile()                # list of dicts

Every failure raises :class:`NPUError`, which carries the ``npu_status``
name and ``npu_last_error()``. Several threads may share one device and
one model (docs/API.md, "Threading and overlap"); calls into libnpu
release the GIL.

The shared library is found, in this order: ``$LWNPU_LIBRARY`` (a path),
``$NPU_BUILD/libnpu.so.1`` (a build directory), the checkout's
``build/libnpu.so.1`` when this package is imported from ``python/``, and
the installed soname ``libnpu.so.1``.
"""

import ctypes
import os
import threading

import numpy as np

__all__ = [
    "NPUError",
    "Device",
    "Model",
    "Job",
    "TensorInfo",
    "open",
    "backend_names",
    "library_path",
]

__version__ = "1.0.0"

#: The soname this package is written against: libnpu's ABI major version.
SONAME = "libnpu.so.1"

# enum npu_io_type
_IO_INT8 = 0
_IO_FLOAT32 = 1
# enum npu_status: the ones this module produces itself.
_ERR_INVALID_ARG = -1
_ERR_SHAPE = -14


class _TensorInfo(ctypes.Structure):
    """struct npu_tensor_info (npu.h)."""

    _fields_ = [
        ("name", ctypes.c_char * 32),
        ("n", ctypes.c_int32),
        ("h", ctypes.c_int32),
        ("w", ctypes.c_int32),
        ("c", ctypes.c_int32),
        ("scale", ctypes.c_float),
        ("zero_point", ctypes.c_int32),
        ("elements", ctypes.c_size_t),
    ]


class _IO(ctypes.Structure):
    """struct npu_io (npu.h)."""

    _fields_ = [
        ("input_type", ctypes.c_int),
        ("input", ctypes.c_void_p),
        ("input_size", ctypes.c_size_t),
        ("output_type", ctypes.c_int),
        ("output", ctypes.c_void_p),
        ("output_size", ctypes.c_size_t),
    ]


class _LayerProfile(ctypes.Structure):
    """struct npu_layer_profile (npu.h)."""

    _fields_ = [
        ("name", ctypes.c_char * 32),
        ("op", ctypes.c_char * 16),
        ("engine", ctypes.c_char * 8),
        ("cycles", ctypes.c_uint64),
        ("cpu_ns", ctypes.c_uint64),
        ("macs", ctypes.c_uint64),
        ("dram_bytes", ctypes.c_uint64),
        ("bound_cycles", ctypes.c_uint64),
        ("folded", ctypes.c_uint32),
    ]


class _Cost(ctypes.Structure):
    """struct npu_model_cost (npu.h)."""

    _fields_ = [
        ("macs", ctypes.c_uint64),
        ("bound_cycles", ctypes.c_uint64),
        ("min_dram_bytes", ctypes.c_uint64),
        ("peak_macs_per_cycle", ctypes.c_uint32),
        ("dw_macs_per_cycle", ctypes.c_uint32),
        ("dram_bytes_per_cycle", ctypes.c_double),
        ("clock_mhz", ctypes.c_double),
    ]


def _candidates():
    """The places to look for libnpu, in order (see the module docstring)."""
    env = os.environ.get("LWNPU_LIBRARY")
    if env:
        return [env]
    out = []
    build = os.environ.get("NPU_BUILD")
    if build:
        out.append(os.path.join(build, SONAME))
    here = os.path.dirname(os.path.abspath(__file__))
    out.append(os.path.join(here, "..", "..", "build", SONAME))
    out.append(SONAME)
    return out


def _load():
    """Load libnpu and declare the prototypes; raise OSError if absent."""
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path + " (no such file)")
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
            continue
        break
    else:
        raise OSError(
            "lwnpu: cannot load libnpu; tried: "
            + "; ".join(tried)
            + ". Set LWNPU_LIBRARY to the .so, NPU_BUILD to a build "
            "directory, or `make install` it."
        )

    c_int, c_char_p, c_void_p = ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p
    P = ctypes.POINTER
    protos = {
        "npu_strerror": (c_char_p, [c_int]),
        "npu_status_name": (c_char_p, [c_int]),
        "npu_last_error": (c_char_p, []),
        "npu_open": (c_int, [c_char_p, P(c_void_p)]),
        "npu_close": (None, [c_void_p]),
        "npu_device_uri": (c_char_p, [c_void_p]),
        "npu_backend_names": (P(c_char_p), []),
        "npu_model_load_file": (c_int, [c_void_p, c_char_p, P(c_void_p)]),
        "npu_model_load_memory": (c_int, [c_void_p, c_void_p, ctypes.c_size_t, P(c_void_p)]),
        "npu_model_free": (None, [c_void_p]),
        "npu_model_input": (c_int, [c_void_p, P(_TensorInfo)]),
        "npu_model_output": (c_int, [c_void_p, P(_TensorInfo)]),
        "npu_model_num_layers": (ctypes.c_uint, [c_void_p]),
        "npu_model_num_labels": (ctypes.c_uint, [c_void_p]),
        "npu_model_label": (c_char_p, [c_void_p, ctypes.c_uint]),
        "npu_submit": (c_int, [c_void_p, P(_IO), P(c_void_p)]),
        "npu_wait": (c_int, [c_void_p, c_int]),
        "npu_run": (c_int, [c_void_p, P(_IO)]),
        "npu_model_profile": (
            c_int,
            [c_void_p, P(_LayerProfile), ctypes.c_uint, P(ctypes.c_uint)],
        ),
        "npu_model_cost": (c_int, [c_void_p, P(_Cost)]),
    }
    for name, (res, args) in protos.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    return lib


_lib = None
_lib_lock = threading.Lock()


def _L():
    """The loaded library, loaded on first use (so that import never fails)."""
    global _lib
    with _lib_lock:
        if _lib is None:
            _lib = _load()
    return _lib


def library_path():
    """The path of the loaded libnpu (loading it if needed)."""
    lib = _L()
    return lib._name


class NPUError(Exception):
    """A libnpu call failed.

    Attributes:
        status: the ``enum npu_status`` value (negative int).
        name: its enumerator name, e.g. ``"NPU_ERR_SHAPE"``.
        detail: ``npu_last_error()`` of the failed call ("" if none), or
            this module's own explanation for errors found before calling.
        call: the C function (or Python method) that failed.
    """

    def __init__(self, status, detail="", call=""):
        """Build the error of status; detail and call as the attributes say."""
        self.status = int(status)
        lib = _L()
        self.name = lib.npu_status_name(self.status).decode()
        self.strerror = lib.npu_strerror(self.status).decode()
        self.detail = detail
        self.call = call
        msg = "%s: %s (%s)" % (call, self.name, self.strerror)
        if detail:
            msg += ": " + detail
        super().__init__(msg)


def _check(rc, call):
    """Raise NPUError for a non-zero status, with this thread's detail."""
    if rc != 0:
        detail = _L().npu_last_error().decode(errors="replace")
        raise NPUError(rc, detail, call)


def backend_names():
    """Names of the device backends this libnpu has, e.g. ['cpu', 'sim', 'null']."""
    arr = _L().npu_backend_names()
    out = []
    i = 0
    while arr[i] is not None:
        out.append(arr[i].decode())
        i += 1
    return out


def open(uri=None):  # noqa: A001 - the API's name, as in npu_open()
    """Open a device by URI and return a :class:`Device`.

    Args:
        uri: "cpu", "sim", "sim:config=small", ...; None or "" uses
            $NPU_DEVICE, else "cpu" (npu_open()).

    Raises:
        NPUError: e.g. NPU_ERR_NO_DEVICE for an unknown backend.
    """
    return Device(uri)


class TensorInfo:
    """Shape and quantization of a model's input or output tensor.

    Attributes:
        name: tensor name.
        shape: (n, h, w, c), NHWC as the library stores it.
        scale, zero_point: real = scale * (q - zero_point).
        elements: n * h * w * c.
    """

    def __init__(self, raw):
        """Copy a _TensorInfo filled by npu_model_input/output."""
        self.name = raw.name.decode(errors="replace")
        self.shape = (raw.n, raw.h, raw.w, raw.c)
        self.scale = float(raw.scale)
        self.zero_point = int(raw.zero_point)
        self.elements = int(raw.elements)

    def shape_in(self, layout):
        """The shape in layout "NHWC" or "NCHW"."""
        n, h, w, c = self.shape
        return (n, h, w, c) if _layout(layout) == "NHWC" else (n, c, h, w)

    def __repr__(self):
        """TensorInfo(name=..., shape=..., scale=..., zero_point=...)."""
        return "TensorInfo(name=%r, shape=%r, scale=%r, zero_point=%r)" % (
            self.name,
            self.shape,
            self.scale,
            self.zero_point,
        )


def _layout(layout):
    """Normalize a layout name; ValueError for anything but NHWC/NCHW."""
    s = str(layout).upper()
    if s not in ("NHWC", "NCHW"):
        raise ValueError("layout must be 'NHWC' or 'NCHW', not %r" % (layout,))
    return s


class Device:
    """An open libnpu device (npu_device). Close it with :meth:`close`
    or use it as a context manager; models loaded on it keep it open."""

    def __init__(self, uri=None):
        """Open the device named by uri (see :func:`open`)."""
        lib = _L()
        h = ctypes.c_void_p()
        arg = None if uri is None else str(uri).encode()
        _check(lib.npu_open(arg, ctypes.byref(h)), "npu_open(%r)" % (uri,))
        self._h = h
        self._lock = threading.Lock()
        self._models = []

    @property
    def uri(self):
        """The URI the device was opened with, after default resolution."""
        self._require()
        return _L().npu_device_uri(self._h).decode()

    def _require(self):
        """Raise NPUError (NPU_ERR_INVALID_ARG) once the device is closed."""
        if self._h is None:
            raise NPUError(_ERR_INVALID_ARG, "the device is closed", "Device")

    def load(self, path):
        """Load a model file (.npu) onto this device; returns a :class:`Model`.

        Raises:
            NPUError: NPU_ERR_IO for a missing file, NPU_ERR_MODEL_* for a
                malformed one, NPU_ERR_NOT_SUPPORTED, ...
        """
        self._require()
        h = ctypes.c_void_p()
        p = os.fsencode(path)
        _check(
            _L().npu_model_load_file(self._h, p, ctypes.byref(h)),
            "npu_model_load_file(%r)" % (os.fsdecode(p),),
        )
        return self._adopt(h)

    def load_bytes(self, data):
        """Load a model from bytes in memory (copied); returns a :class:`Model`."""
        self._require()
        buf = bytes(data)
        h = ctypes.c_void_p()
        _check(
            _L().npu_model_load_memory(self._h, buf, len(buf), ctypes.byref(h)),
            "npu_model_load_memory",
        )
        return self._adopt(h)

    def _adopt(self, h):
        """Wrap a new npu_model handle and remember it for close()."""
        m = Model(self, h)
        with self._lock:
            self._models.append(m)
        return m

    def close(self):
        """Free every model still loaded on the device, then close it.
        Safe to call twice."""
        with self._lock:
            models, self._models = self._models, []
        for m in models:
            m.free()
        if self._h is not None:
            _L().npu_close(self._h)
            self._h = None

    def __enter__(self):
        """``with lwnpu.open(uri) as dev:`` closes the device at the end."""
        return self

    def __exit__(self, *exc):
        """Close the device (see :meth:`close`)."""
        self.close()

    def __del__(self):
        """Close a device that was never closed."""
        if getattr(self, "_h", None) is not None and _lib is not None:
            self.close()

    def __repr__(self):
        """lwnpu.Device('URI'), or '<closed>'."""
        return "lwnpu.Device(%r)" % (self.uri if self._h is not None else "<closed>",)


class Job:
    """One queued inference (npu_job), from :meth:`Model.submit`.

    Holds the input and output buffers until :meth:`wait` has returned the
    result; wait exactly once to completion.
    """

    def __init__(self, model, handle, keep, output, shape):
        """Hold a submitted job: its handle, the buffers, the output layout."""
        self._model = model
        self._h = handle
        self._keep = keep
        self._out = output
        self._shape = shape

    def wait(self, timeout_ms=-1):
        """Wait up to timeout_ms (< 0: forever) and return the output array.

        Raises:
            NPUError: NPU_ERR_TIMEOUT (the job is still alive: wait again),
                or the job's own error (e.g. NPU_ERR_DEVICE_FAULT).
        """
        if self._h is None:
            raise NPUError(_ERR_INVALID_ARG, "job already waited for", "Job.wait")
        rc = _L().npu_wait(self._h, int(timeout_ms))
        if rc == -15:  # NPU_ERR_TIMEOUT: the job stays valid
            _check(rc, "npu_wait")
        self._h = None
        self._keep = None
        _check(rc, "npu_wait")
        return self._model._shape_output(self._out, self._shape)

    def __del__(self):
        """Wait for a job nobody waited for: it still uses its buffers."""
        if getattr(self, "_h", None) is not None and _lib is not None:
            _lib.npu_wait(self._h, -1)


class Model:
    """A model loaded on a device (npu_model). From :meth:`Device.load`."""

    def __init__(self, device, handle):
        """Wrap a loaded npu_model handle; use :meth:`Device.load` instead."""
        self._dev = device
        self._h = handle
        lib = _L()
        ti = _TensorInfo()
        _check(lib.npu_model_input(handle, ctypes.byref(ti)), "npu_model_input")
        self.input = TensorInfo(ti)
        """:class:`TensorInfo` of the input."""
        to = _TensorInfo()
        _check(lib.npu_model_output(handle, ctypes.byref(to)), "npu_model_output")
        self.output = TensorInfo(to)
        """:class:`TensorInfo` of the output."""

    def _require(self):
        """Raise NPUError (NPU_ERR_INVALID_ARG) once the model is freed."""
        if self._h is None:
            raise NPUError(_ERR_INVALID_ARG, "the model is freed", "Model")

    @property
    def num_layers(self):
        """Number of layers of the model."""
        self._require()
        return int(_L().npu_model_num_layers(self._h))

    @property
    def labels(self):
        """The class labels stored in the model ([] when it has none)."""
        self._require()
        lib = _L()
        n = lib.npu_model_num_labels(self._h)
        return [lib.npu_model_label(self._h, i).decode(errors="replace") for i in range(n)]

    def _io(self, array, layout, out_dtype):
        """Build the npu_io for one inference: (io, keep-alive, output, shape)."""
        self._require()
        lay = _layout(layout)
        x = np.asarray(array)
        if x.dtype == np.float32:
            in_type = _IO_FLOAT32
        elif x.dtype == np.int8:
            in_type = _IO_INT8
        else:
            raise NPUError(
                _ERR_INVALID_ARG,
                "input dtype must be float32 or int8, not %s" % x.dtype,
                "Model.run",
            )
        want = self.input.shape_in(lay)
        if x.shape != want and x.shape != want[1:]:
            raise NPUError(
                _ERR_SHAPE,
                "input shape %s, the model takes %s %s (or without the batch)"
                % (tuple(x.shape), lay, want),
                "Model.run",
            )
        if lay == "NCHW":
            x = np.moveaxis(x, -3, -1)  # C,H,W -> H,W,C
        x = np.ascontiguousarray(x)
        od = np.dtype(out_dtype)
        if od == np.float32:
            out_type = _IO_FLOAT32
        elif od == np.int8:
            out_type = _IO_INT8
        else:
            raise NPUError(
                _ERR_INVALID_ARG,
                "out_dtype must be float32 or int8, not %s" % od,
                "Model.run",
            )
        out = np.empty(self.output.shape, od)  # NHWC
        io = _IO(
            in_type,
            x.ctypes.data,
            x.nbytes,
            out_type,
            out.ctypes.data,
            out.nbytes,
        )
        return io, (x, io), out, lay

    def _shape_output(self, out, layout):
        """The NHWC output array, transposed to NCHW when asked for."""
        return np.ascontiguousarray(out.transpose(0, 3, 1, 2)) if layout == "NCHW" else out

    def run(self, array, layout="NHWC", out_dtype=np.float32):
        """Run one inference (npu_run) and return the output array.

        Args:
            array: the input, float32 (quantized by the library with the
                input's scale) or int8 (raw quantized bytes); shape
                (1, H, W, C) or (H, W, C) for layout "NHWC", (1, C, H, W)
                or (C, H, W) for "NCHW".
            layout: "NHWC" (the library's order) or "NCHW" (PyTorch's);
                applies to the input and the returned output alike.
            out_dtype: np.float32 (dequantized) or np.int8 (raw).

        Returns:
            The output, shape (1, H, W, C) or (1, C, H, W): a classifier's
            logits are (1, 1, 1, classes) / (1, classes, 1, 1).

        Raises:
            NPUError: NPU_ERR_SHAPE for a wrong shape, NPU_ERR_INVALID_ARG
                for a wrong dtype or layout, or the run's error.
        """
        try:
            io, keep, out, lay = self._io(array, layout, out_dtype)
        except ValueError as e:
            raise NPUError(_ERR_INVALID_ARG, str(e), "Model.run") from None
        _check(_L().npu_run(self._h, ctypes.byref(io)), "npu_run")
        del keep
        return self._shape_output(out, lay)

    def submit(self, array, layout="NHWC", out_dtype=np.float32):
        """Queue one inference (npu_submit); returns a :class:`Job`.

        Arguments as for :meth:`run`; ``job.wait()`` returns what
        :meth:`run` would. Jobs of one model complete in submission order.
        """
        try:
            io, keep, out, lay = self._io(array, layout, out_dtype)
        except ValueError as e:
            raise NPUError(_ERR_INVALID_ARG, str(e), "Model.submit") from None
        h = ctypes.c_void_p()
        _check(_L().npu_submit(self._h, ctypes.byref(io), ctypes.byref(h)), "npu_submit")
        return Job(self, h, keep, out, lay)

    def profile(self):
        """Per-layer records of the last completed run, as a list of dicts
        with keys name, op, engine, cycles, cpu_ns, macs, dram_bytes,
        bound_cycles, folded (npu_model_profile; docs/API.md, "Profile")."""
        self._require()
        lib = _L()
        count = ctypes.c_uint()
        _check(lib.npu_model_profile(self._h, None, 0, ctypes.byref(count)), "npu_model_profile")
        n = count.value
        recs = (_LayerProfile * max(n, 1))()
        _check(lib.npu_model_profile(self._h, recs, n, ctypes.byref(count)), "npu_model_profile")
        out = []
        for r in recs[: min(n, count.value)]:
            out.append(
                {
                    "name": r.name.decode(errors="replace"),
                    "op": r.op.decode(errors="replace"),
                    "engine": r.engine.decode(errors="replace"),
                    "cycles": r.cycles,
                    "cpu_ns": r.cpu_ns,
                    "macs": r.macs,
                    "dram_bytes": r.dram_bytes,
                    "bound_cycles": r.bound_cycles,
                    "folded": bool(r.folded),
                }
            )
        return out

    def cost(self):
        """The model's cost on its device as a dict (npu_model_cost): macs,
        bound_cycles, min_dram_bytes, peak_macs_per_cycle,
        dw_macs_per_cycle, dram_bytes_per_cycle, clock_mhz."""
        self._require()
        c = _Cost()
        _check(_L().npu_model_cost(self._h, ctypes.byref(c)), "npu_model_cost")
        return {name: getattr(c, name) for name, _ in _Cost._fields_}

    def free(self):
        """Free the model (npu_model_free: waits for its queued jobs).
        Safe to call twice; :meth:`Device.close` calls it."""
        if self._h is not None:
            _L().npu_model_free(self._h)
            self._h = None

    def __repr__(self):
        """lwnpu.Model(input=..., output=...)."""
        return "lwnpu.Model(input=%r, output=%r)" % (self.input, self.output)
