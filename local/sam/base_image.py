"""The Lambda base image `sam local` runs python3.13 functions on, built here when no registry serves it.

SAM looks for `public.ecr.aws/lambda/python:3.13-x86_64` (it appends the architecture; a `:3.13`
tag is not found), adds its own `aws-lambda-rie` and the layers on top, and starts the emulator,
which runs `/var/runtime/bootstrap` with the function's handler in `$_HANDLER`. In order:

1. the tag is already there (built or pulled before): use it;
2. `docker pull` works (a machine with internet): use the real image and build nothing;
3. otherwise build a stand-in: `debootstrap --variant=minbase trixie` (Debian 13 has Python 3.13)
   with python3, awslambdaric from PyPI in /var/runtime, and a bootstrap that runs the runtime
   interface client with /var/task, /opt/python and /var/runtime on the path, as Lambda's does.
   No boto3 in it, unlike Lambda's image: the layer must ship everything the functions import.

`python -m local.sam.base_image [--rebuild]` runs this on its own. Building needs root (debootstrap)
and `apt-get install debootstrap`; it takes about 2 minutes and 120 MB.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

IMAGE = "public.ecr.aws/lambda/python:3.13-x86_64"
SUITE = "trixie"  # Debian 13: python3 is 3.13
PYTHON_VERSION = "3.13"
AWSLAMBDARIC = "awslambdaric==4.2.2"
LABEL = "org.chatbridge.lambda-base=debootstrap-" + SUITE
PULL_TIMEOUT = 900.0
APT_SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))

BOOTSTRAP = f"""#!/bin/sh
# Lambda's python{PYTHON_VERSION} bootstrap, reduced: the runtime interface client serves $_HANDLER.
export AWS_EXECUTION_ENV="${{AWS_EXECUTION_ENV:-AWS_Lambda_python{PYTHON_VERSION}}}"
export PYTHONPATH="/var/task:/opt/python/lib/python{PYTHON_VERSION}/site-packages:/opt/python:/var/runtime"
cd "${{LAMBDA_TASK_ROOT:-/var/task}}"
exec /usr/bin/python3 -m awslambdaric "${{_HANDLER:-$AWS_LAMBDA_FUNCTION_HANDLER}}"
"""
IMAGE_CHANGES = (
    "ENV LANG=C.UTF-8",
    "ENV TZ=:/etc/localtime",
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LAMBDA_TASK_ROOT=/var/task",
    "ENV LAMBDA_RUNTIME_DIR=/var/runtime",
    "WORKDIR /var/task",
    'ENTRYPOINT ["/var/runtime/bootstrap"]',
    f"LABEL {LABEL}",
)
# Not needed at run time: package caches and lists, documentation, translations.
TRIMMED = ("var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/locale", "usr/share/info")


class BaseImageError(RuntimeError):
    pass


def image_exists(tag: str = IMAGE) -> bool:
    done = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, timeout=60, check=False)
    return done.returncode == 0


def try_pull(tag: str = IMAGE, timeout: float = PULL_TIMEOUT) -> bool:
    try:
        done = subprocess.run(["docker", "pull", tag], capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        log.info("docker pull %s timed out after %.0f s", tag, timeout)
        return False
    if done.returncode != 0:
        log.info("docker pull %s failed: %s", tag, (done.stderr or done.stdout).strip().splitlines()[-1:])
    return done.returncode == 0


def debian_mirror(sources: tuple[Path, ...] = APT_SOURCES) -> str | None:
    """The Debian archive this machine's apt uses (None: debootstrap's default)."""
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        uris: list[str] = re.findall(r"^URIs:\s*(\S+)", text, re.MULTILINE)
        uris += re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.MULTILINE)
        for uri in uris:
            if "security" not in uri:
                return uri
    return None


def pip_install_command(target: Path, python: str = sys.executable) -> list[str]:
    """awslambdaric (and what it needs) for CPython 3.13 on x86_64 Linux, binary wheels only."""
    return [
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        str(target),
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        # pip matches --platform tags exactly: name the glibc levels trixie (2.41) runs
        *("--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64"),
        *("--platform", "manylinux2014_x86_64"),
        AWSLAMBDARIC,
    ]


def write_runtime(rootfs: Path) -> None:
    """/var/runtime/bootstrap, the task and layer folders; the trimmed leftovers of debootstrap."""
    runtime = rootfs / "var" / "runtime"
    runtime.mkdir(parents=True, exist_ok=True)
    bootstrap = runtime / "bootstrap"
    bootstrap.write_text(BOOTSTRAP, encoding="utf-8")
    bootstrap.chmod(0o755)
    for folder in ("var/task", "opt"):
        (rootfs / folder).mkdir(parents=True, exist_ok=True)
    for relative in TRIMMED:
        target = rootfs / relative
        if target.is_dir():
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()


def build(tag: str = IMAGE, workdir: Path | None = None) -> None:
    """debootstrap, awslambdaric, bootstrap, `docker import` as `tag`."""
    if os.geteuid() != 0:
        raise BaseImageError("building the Lambda base image needs root (debootstrap); or pull the real one")
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise BaseImageError("debootstrap is missing: apt-get install debootstrap")
    scratch = Path(tempfile.mkdtemp(prefix="chatbridge-lambda-base-", dir=workdir))
    try:
        rootfs = scratch / "rootfs"
        command = [debootstrap, "--variant=minbase", "--include=python3", SUITE, str(rootfs)]
        mirror = debian_mirror()
        if mirror:
            command.append(mirror)
        _run(command, scratch / "debootstrap.log", "debootstrap")
        _run(pip_install_command(rootfs / "var" / "runtime"), scratch / "pip.log", "pip install awslambdaric")
        write_runtime(rootfs)
        tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        changes = [arg for change in IMAGE_CHANGES for arg in ("--change", change)]
        imported = subprocess.run(
            ["docker", "import", *changes, "-", tag], stdin=tar.stdout, capture_output=True, text=True, check=False
        )
        if tar.stdout is not None:
            tar.stdout.close()
        if tar.wait() != 0 or imported.returncode != 0:
            raise BaseImageError(f"docker import failed: {imported.stderr.strip()}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run(command: list[str], log_path: Path, what: str) -> None:
    with log_path.open("wb") as output:
        done = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
        raise BaseImageError(f"{what} failed (exit {done.returncode}):\n" + "\n".join(tail))


def ensure(tag: str = IMAGE, *, rebuild: bool = False, pull: bool = True) -> str:
    """Make `tag` available; how: "cached", "pulled" or "built in N s"."""
    if not rebuild and image_exists(tag):
        return "cached"
    if not rebuild and pull and try_pull(tag):
        return "pulled"
    started = time.monotonic()
    print(f"   no {tag} here and none to pull: building it (debootstrap {SUITE}, about 2 minutes)", flush=True)
    build(tag)
    return f"built in {time.monotonic() - started:.0f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=f"Make {IMAGE} available to `sam local` (pull, else build)")
    parser.add_argument("--rebuild", action="store_true", help="build even when the tag exists (no pull)")
    parser.add_argument("--no-pull", action="store_true", help="do not try the registry")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(f"{IMAGE}: {ensure(rebuild=args.rebuild, pull=not args.no_pull)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
