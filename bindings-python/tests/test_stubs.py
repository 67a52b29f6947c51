"""The hand-written stubs match the native module exactly, both ways."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from pathlib import Path

import pytest

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
    assert "__new__" in stubs["JobManager"] and "create" in stubs["JobManager"]
    for name in ("Job", "JobInfo", "JobEvent", "EventStream", "Usage", "ResourceStats", "ResourceLimits", "JobPage", "Workflow"):
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


def core_fields(call: Callable[[], object]) -> set[str]:
    """The fields the core expects, from its error for an unknown key."""
    with pytest.raises(claude_jobs.InvalidSpecError) as err:
        call()
    assert err.value.field == "no_such_key"
    m = re.search(r"unknown field \(expected one of: ([^)]*)\)", str(err.value))
    assert m, str(err.value)
    return set(m.group(1).split(", "))


def test_the_typed_dicts_name_every_field_of_the_core(tmp_path: Path) -> None:
    """Each option, spec field and list filter the core reads has its one line
    in claude_jobs.types, and there is none the core does not know."""
    from claude_jobs import types

    options = core_fields(lambda: claude_jobs.JobManager(no_such_key=1))  # type: ignore[call-arg]
    assert options == set(types.ManagerOptions.__annotations__)
    manager = claude_jobs.JobManager(store_url="memory", isolation="off", data_dir=tmp_path)
    spec = core_fields(lambda: manager.submit("x", no_such_key=1))  # type: ignore[call-arg]
    assert spec == set(types.JobSpecArgs.__annotations__) | {"prompt"}
    query = core_fields(lambda: manager.list(no_such_key=1))  # type: ignore[call-arg]
    assert query == set(types.ListQuery.__annotations__)


def test_the_event_types_are_the_cores() -> None:
    """JOB_EVENT_TYPES (the JobEventTypeName literal) lists every variant of the
    core's JobEvent enum, snake_cased as serde tags them, in order."""
    from jobs_helpers import ROOT

    source = (ROOT / "core" / "src" / "events" / "mod.rs").read_text()
    body = source.split("pub enum JobEvent {", 1)[1].split("\n}\n", 1)[0]
    variants = re.findall(r"^    ([A-Z]\w*)\b", body, re.M)
    snake = [re.sub(r"(?<!^)([A-Z])", r"_\1", v).lower() for v in variants]
    assert snake and list(claude_jobs.JOB_EVENT_TYPES) == snake


def test_job_info_keys_are_the_cores() -> None:
    """Every key of the core's JobInfo but pid_start_time (internal) is a JobInfo
    attribute, and the stub declares each."""
    from jobs_helpers import ROOT

    source = (ROOT / "core" / "src" / "state.rs").read_text()
    body = source.split("pub struct JobInfo {", 1)[1].split("\n}\n", 1)[0]
    core = set(re.findall(r"^    pub (\w+):", body, re.M)) - {"pid_start_time"}
    assert core <= set(_native.JobInfo.__dict__), core - set(_native.JobInfo.__dict__)
    assert core <= stub_names()["JobInfo"], core - stub_names()["JobInfo"]
