"""A front end generates its client from the gateway's merged OpenAPI (openapi-typescript) and
type-checks the calls it makes (tsc --noEmit): tests/openapi/ts/client.ts logs in, reads a health
code and pushes travel records by the operations' ids and paths. A renamed operation, a missing
schema or a narrowed enum then fails here, not in the front end's build.

The npm tools (exact versions in tests/openapi/ts/package-lock.json) install into .cache/npm-tools
(git-ignored) once per lock file. Without node/npm, or if npm cannot install, the test is skipped
with the reason (pytest prints skip reasons: -rs in pyproject), never passed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.openapi import document

ROOT = Path(__file__).resolve().parents[2]
SOURCE = Path(__file__).parent / "ts"
TOOLS = ROOT / ".cache" / "npm-tools"


def _run(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tools() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        pytest.skip("node and npm are not installed: the TypeScript client check cannot run")
    lock = (SOURCE / "package-lock.json").read_bytes()
    stamp = TOOLS / ".installed"
    digest = hashlib.sha256(lock + (SOURCE / "package.json").read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == digest and (TOOLS / "node_modules" / ".bin" / "tsc").exists()):
        TOOLS.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(SOURCE / name, TOOLS / name)
        try:
            done = _run(npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", cwd=TOOLS)
        except subprocess.TimeoutExpired:
            pytest.skip("npm ci did not finish in 300 s: the TypeScript client check cannot run")
        if done.returncode != 0:
            pytest.skip(f"npm could not install the TypeScript tools: {(done.stderr or done.stdout)[-800:]}")
        stamp.write_text(digest)
    return TOOLS


@pytest.fixture
def workdir(tools):
    # Inside the tools' folder, so that client.ts resolves openapi-fetch from its node_modules.
    path = tools / f"run-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    for name in ("client.ts", "tsconfig.json"):
        shutil.copyfile(SOURCE / name, path / name)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def typecheck(tools: Path, workdir: Path, doc: dict) -> subprocess.CompletedProcess:
    (workdir / "openapi.json").write_text(json.dumps(doc, ensure_ascii=False))
    bin_ = tools / "node_modules" / ".bin"
    generated = _run(str(bin_ / "openapi-typescript"), "openapi.json", "--default-non-nullable", "false",
                     "-o", "cordon.d.ts", cwd=workdir)
    assert generated.returncode == 0, generated.stderr[-2000:]
    return _run(str(bin_ / "tsc"), "-p", "tsconfig.json", cwd=workdir)


def test_generated_client_type_checks(tools, workdir):
    doc = document.merged()
    checked = typecheck(tools, workdir, doc)
    assert checked.returncode == 0, checked.stdout[-4000:]

    # The check can fail: the health-code operation under another id breaks the client.
    renamed = json.loads(json.dumps(doc).replace('"persons_read_health_code"', '"readHealthCodeApiV1PersonsGet"'))
    broken = typecheck(tools, workdir, renamed)
    assert broken.returncode != 0 and "persons_read_health_code" in broken.stdout, broken.stdout[-2000:]


def test_tools_are_pinned():
    manifest = json.loads((SOURCE / "package.json").read_text())
    assert all(v[0].isdigit() for v in manifest["devDependencies"].values()), "exact versions only"
    assert os.path.exists(SOURCE / "package-lock.json")
