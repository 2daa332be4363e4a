"""The public API (README, "What this is, and for whom"), and clean errors for bad input.

Syscall-like calls raise ``OSError`` with the kernel's errno (as the ``os`` module does);
misuse of the Python API raises ``TypeError``/``ValueError`` with a message saying what to
do, never an error from deep inside the model.
"""

from __future__ import annotations

import errno
import signal

import pytest

import mrelease_ref
from mrelease_ref import Kernel, Mapping
from mrelease_ref.mm.filemap import Cachestat


def test_the_documented_example_runs_as_described() -> None:
    """The section-3 example: a killed victim is reaped (anon gone, file cache kept) and
    its exit completes; status/meminfo/cachestat report in kB and pages."""
    k = Kernel(variant="baseline", swap=True, arch="x86_64", large_folios=False, seed=0,
               debug_vm=True)
    f = k.create_file("app.apk", nr_pages=256)
    lmkd = k.spawn("lmkd", uid=0)
    app = k.spawn("app", uid=10001)
    anon = app.mmap(nr_pages=512)
    code = app.mmap(nr_pages=256, file=f, shared=False)
    shm = app.mmap(nr_pages=64, shared=True)
    assert isinstance(anon, Mapping) and isinstance(shm, Mapping)
    app.touch(anon, write=True)
    app.touch(code)
    assert app.status()["RssAnon"] == 512 * 4 and app.status()["RssFile"] == 256 * 4
    fd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    assert lmkd.process_mrelease(fd, 0) is None
    assert app.status()["VmRSS"] == 0  # shm was never touched, so nothing is left
    k.run()
    assert app.state == "dead"
    cs = k.cachestat(f)
    assert isinstance(cs, Cachestat) and cs.nr_cache == 256 and cs.nr_evicted == 0
    assert set(k.meminfo()) >= {"MemFree", "Cached", "AnonPages", "Mapped"}


def test_kernel_rejects_bad_configuration_with_a_clear_message() -> None:
    """Unknown variants, arches and wrong types are API misuse: ValueError/TypeError."""
    with pytest.raises(ValueError, match="unknown variant"):
        Kernel(variant="v9")
    with pytest.raises(ValueError, match="patches must be 1, 2 or 3"):
        Kernel(variant="v1", patches=4)
    with pytest.raises(ValueError, match="a single patch"):
        Kernel(variant="v2", patches=1)
    with pytest.raises(ValueError, match="does not build on s390"):
        Kernel(variant="d", arch="s390")
    with pytest.raises(ValueError, match="arch must be one of"):
        Kernel(arch="riscv64")
    with pytest.raises(TypeError, match="swap must be True or False"):
        Kernel(swap=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="seed must be an int"):
        Kernel(seed="0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"swap_mib > 0 needs swap=True"):
        Kernel(swap=False, swap_mib=16)


def test_process_api_misuse_is_a_type_or_value_error() -> None:
    """Wrong argument types and impossible requests say what to pass instead."""
    k = Kernel(large_folios=False)
    app = k.spawn("app")
    with pytest.raises(ValueError, match="nr_pages must be a positive int"):
        app.mmap(0)
    with pytest.raises(TypeError, match=r"Kernel\.create_file"):
        app.mmap(4, file="app.apk")  # type: ignore[arg-type]
    m = app.mmap(4)
    with pytest.raises(ValueError, match="outside"):
        app.touch(m, start=2, nr_pages=8)
    with pytest.raises(TypeError, match="pidfd must be an int"):
        app.process_mrelease("3")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="pass the Mapping"):
        app.touch((m.start, 4))  # type: ignore[arg-type]


def test_syscalls_raise_oserror_with_the_kernels_errno() -> None:
    """kill/pidfd_open/process_mrelease behave like os.kill/os.pidfd_open: OSError(errno)."""
    k = Kernel(large_folios=False)
    user = k.spawn("user", uid=1000)
    root_app = k.spawn("daemon", uid=0)
    with pytest.raises(OSError) as e:
        user.kill(root_app.pid, signal.SIGKILL)
    assert e.value.errno == errno.EPERM
    with pytest.raises(OSError) as e:
        user.pidfd_open(99999)
    assert e.value.errno == errno.ESRCH
    with pytest.raises(OSError) as e:
        user.process_mrelease(-1, 0)
    assert e.value.errno == errno.EBADF
    with pytest.raises(OSError) as e:
        user.process_mrelease(-1, 1)
    assert e.value.errno == errno.EINVAL


def test_an_exited_process_cannot_make_calls() -> None:
    """After exit, the handle refuses calls with a ValueError rather than corrupting state."""
    k = Kernel(large_folios=False)
    app = k.spawn("app")
    app.exit(0)
    k.run()
    with pytest.raises(ValueError, match="has exited"):
        app.mmap(1)


def test_package_exports() -> None:
    """The names the README documents are importable from the package root."""
    assert mrelease_ref.KERNEL_VERSION == "v6.18"
    for name in ("Kernel", "Process", "Mapping", "InvariantViolation", "variant_table"):
        assert hasattr(mrelease_ref, name)
    assert mrelease_ref.variant_table()[0]["variant"] == "baseline"


def _resolve(dotted: str) -> object:
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module("mrelease_ref." + ".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def test_every_glossary_name_exists() -> None:
    """The overview's vocabulary table names real objects (it cannot drift from the code)."""
    from mrelease_ref.viz.glossary import GLOSSARY

    roots = ("mm.", "kernel.", "include.", "fs.", "arch.", "sim.")
    for _term, names, _path in GLOSSARY:
        module = ""
        for name in (n.strip() for n in names.split(",")):
            if name.startswith(roots):
                obj = _resolve(name)
                module = name if isinstance(obj, type(pytest)) else name.rsplit(".", 1)[0]
                while not isinstance(_resolve(module), type(pytest)):
                    module = module.rsplit(".", 1)[0]
            else:
                assert module, f"{name!r} needs a module before it in {names!r}"
                _resolve(f"{module}.{name}")
