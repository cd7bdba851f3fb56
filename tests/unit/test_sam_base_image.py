"""The stand-in Lambda base image: the tag SAM looks for, the bootstrap, the rootfs it prepares."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from local.sam import base_image
from local.template import load_template


def test_the_tag_is_the_one_sam_looks_up_for_the_template_s_runtime_and_architecture() -> None:
    globals_ = load_template()["Globals"]["Function"]
    (architecture,) = globals_["Architectures"]
    version = globals_["Runtime"].removeprefix("python")
    # SAM appends the architecture (samcli Runtime.get_image_name_tag); a bare `:3.13` is not found
    assert f"public.ecr.aws/lambda/python:{version}-{architecture}" == base_image.IMAGE
    assert version == base_image.PYTHON_VERSION


def test_the_bootstrap_runs_the_runtime_client_for_the_handler_with_lambda_s_paths(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    for leftover in ("usr/share/doc/python3/README", "var/lib/apt/lists/deb_InRelease", "usr/share/locale/fr/x.mo"):
        (rootfs / leftover).parent.mkdir(parents=True, exist_ok=True)
        (rootfs / leftover).write_text("x", encoding="utf-8")

    base_image.write_runtime(rootfs)

    bootstrap = rootfs / "var" / "runtime" / "bootstrap"
    assert bootstrap.stat().st_mode & stat.S_IXUSR
    text = bootstrap.read_text(encoding="utf-8")
    assert 'exec /usr/bin/python3 -m awslambdaric "${_HANDLER:-$AWS_LAMBDA_FUNCTION_HANDLER}"' in text
    path_line = next(line for line in text.splitlines() if line.startswith("export PYTHONPATH="))
    assert path_line.index("/var/task") < path_line.index("/opt/python") < path_line.index("/var/runtime")
    assert (rootfs / "var" / "task").is_dir() and (rootfs / "opt").is_dir()
    assert not any((rootfs / "usr" / "share" / "doc").iterdir())
    assert not any((rootfs / "var" / "lib" / "apt" / "lists").iterdir())
    assert subprocess.run(["sh", "-n", str(bootstrap)], check=False).returncode == 0


def test_the_bootstrap_hands_the_handler_to_the_runtime_client(tmp_path: Path) -> None:
    """Run it with a stand-in python3 that prints what it was given (its path is rewritten)."""
    rootfs = tmp_path / "rootfs"
    base_image.write_runtime(rootfs)
    fake = tmp_path / "python3"
    fake.write_text('#!/bin/sh\necho "$PWD|$PYTHONPATH|$AWS_EXECUTION_ENV|$*"\n', encoding="utf-8")
    fake.chmod(0o755)
    script = (
        (rootfs / "var" / "runtime" / "bootstrap").read_text(encoding="utf-8").replace("/usr/bin/python3", str(fake))
    )
    env = {"PATH": os.environ["PATH"], "_HANDLER": "meta_handler.lambda_handler", "LAMBDA_TASK_ROOT": str(tmp_path)}

    out = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, check=True).stdout.strip()

    cwd, pythonpath, execution_env, args = out.split("|")
    assert cwd == str(tmp_path)
    assert pythonpath.split(":")[0] == "/var/task"
    assert execution_env == "AWS_Lambda_python3.13"
    assert args == "-m awslambdaric meta_handler.lambda_handler"


def test_awslambdaric_is_installed_as_cpython_3_13_linux_wheels_into_var_runtime(tmp_path: Path) -> None:
    command = base_image.pip_install_command(tmp_path / "var" / "runtime", python="python3")
    assert command[command.index("--target") + 1] == str(tmp_path / "var" / "runtime")
    assert "--only-binary=:all:" in command
    assert command[command.index("--python-version") + 1] == "3.13"
    assert command[command.index("--platform") + 1].endswith("_x86_64")
    assert command[-1].startswith("awslambdaric==")


def test_the_mirror_is_the_one_apt_uses_here(tmp_path: Path) -> None:
    deb822 = tmp_path / "debian.sources"
    deb822.write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n",
        encoding="utf-8",
    )
    one_line = tmp_path / "sources.list"
    one_line.write_text("deb [arch=amd64] http://other.example/debian bookworm main\n", encoding="utf-8")

    assert base_image.debian_mirror((tmp_path / "missing", deb822)) == "http://mirror.example/debian"
    assert base_image.debian_mirror((one_line,)) == "http://other.example/debian"
    assert base_image.debian_mirror((tmp_path / "missing",)) is None
