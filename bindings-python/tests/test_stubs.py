"""The hand-written stubs match the native module exactly, both ways."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import claude_jobs
from claude_jobs import _native

STUB = Path(claude_jobs.__file__).with_name("_native.pyi")


def stub_names() -> dict[str, set[str]]:
    """Top-level names of the stub, each with its class members (empty for functions/values)."""
    tree = ast.parse(STUB.read_text())
    out: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members = {
                n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            } | {n.target.id for n in node.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
            out[node.name] = members
        elif isinstance(node, ast.FunctionDef):
            out[node.name] = set()
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = set()
    return out


def test_every_stub_name_exists_at_runtime() -> None:
    for name, members in stub_names().items():
        assert hasattr(_native, name), f"_native.{name} is in the stub but not at runtime"
        obj = getattr(_native, name)
        for m in members:
            if m == "__getattr__":  # a native class implements it as __getattribute__
                assert obj.__getattribute__ is not object.__getattribute__, name
                continue
            assert hasattr(obj, m), f"_native.{name}.{m} is in the stub but not at runtime"


def test_every_runtime_name_is_in_the_stub() -> None:
    stubs = stub_names()
    for name, obj in vars(_native).items():
        if name.startswith("_") and name != "__version__":
            continue
        assert name in stubs, f"_native.{name} exists at runtime but is missing from the stub"
        if inspect.isclass(obj):
            for m in vars(obj):
                # Public methods and the protocol methods the stub must declare; a
                # native class without a constructor still has a __new__ that raises.
                if m.startswith("_") and m not in ("__getitem__", "__aiter__", "__anext__", "__aenter__", "__aexit__"):
                    continue
                assert m in stubs[name], f"_native.{name}.{m} exists at runtime but is missing from the stub"


def test_constructors_match() -> None:
    stubs = stub_names()
    for name in ("JobManager", "ResourceLimits"):
        assert "__new__" in stubs[name]
    for name in ("Job", "JobInfo", "JobEvent", "EventStream", "Usage", "ResourceStats"):
        assert "__new__" not in stubs[name]
        try:
            getattr(_native, name)()
        except TypeError:
            pass
        else:
            raise AssertionError(f"{name}() should not be constructible")


def test_package_exports() -> None:
    for name in claude_jobs.__all__:
        assert hasattr(claude_jobs, name), name
    assert (Path(claude_jobs.__file__).parent / "py.typed").exists()
