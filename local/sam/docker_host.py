"""The Docker engine the SAM CLI drives: started here when none runs, and the address at which
Lambda containers reach this machine.

SAM 1.170 puts every Lambda container on the default `bridge` network (`--docker-network host` has
no effect), where the host's 127.0.0.1 is out of reach. The host is reachable at the bridge's
gateway (docker0, 172.17.0.1 by default), so the local stack binds its servers to that address:
no iptables rule or sysctl has to change for it, and nothing is exposed beyond this machine.

dockerd itself, when it starts, adds its iptables chains, sets net.ipv4.ip_forward and creates
docker0. A dockerd started here is stopped on exit, and what it changed is put back as it was
before: the iptables tables it touched, the sysctl, the bridge.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DAEMON_START_TIMEOUT = 60.0
# Label SAM CLI puts on the containers it runs (samcli/local/docker/lambda_container.py).
SAM_CONTAINER_LABEL = "sam.cli.container.type=lambda"


class DockerUnavailableError(RuntimeError):
    """No engine answers and none could be started (no dockerd, not root, or it failed)."""


def docker_answers(timeout: float = 10.0) -> bool:
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
BRIDGE = "docker0"


@dataclass(frozen=True)
class HostNetworkState:
    """What dockerd changes on the host when it starts, as it was before."""

    iptables: str | None  # `iptables-save` output; None when iptables is not there
    ip_forward: str | None
    bridge_existed: bool

    @classmethod
    def capture(cls) -> HostNetworkState:
        saved = _run_quiet(["iptables-save"]) if shutil.which("iptables-save") else None
        forward = IP_FORWARD.read_text(encoding="utf-8").strip() if IP_FORWARD.exists() else None
        return cls(saved, forward, Path("/sys/class/net", BRIDGE).exists())

    def restore(self) -> None:
        if self.iptables is not None and shutil.which("iptables-restore"):
            # tables dockerd brought in (absent from the snapshot) are emptied; the others restored
            now = _run_quiet(["iptables-save"]) or ""
            for table in sorted(tables_of(now) - tables_of(self.iptables)):
                subprocess.run(["iptables", "-t", table, "-F"], capture_output=True, check=False)
                subprocess.run(["iptables", "-t", table, "-X"], capture_output=True, check=False)
            subprocess.run(["iptables-restore"], input=self.iptables, text=True, capture_output=True, check=False)
        if self.ip_forward is not None and IP_FORWARD.exists():
            subprocess.run(
                ["sysctl", "-q", "-w", f"net.ipv4.ip_forward={self.ip_forward}"], capture_output=True, check=False
            )
        if not self.bridge_existed and Path("/sys/class/net", BRIDGE).exists():
            subprocess.run(["ip", "link", "delete", BRIDGE], capture_output=True, check=False)


def tables_of(saved: str) -> set[str]:
    """The tables an `iptables-save` dump holds (`*filter`, `*nat` lines)."""
    return {line[1:].strip() for line in saved.splitlines() if line.startswith("*")}


def _run_quiet(command: list[str]) -> str | None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    return done.stdout if done.returncode == 0 else None


@dataclass
class DockerDaemon:
    """A dockerd this process started (None of it when one was already running)."""

    process: subprocess.Popen[bytes]
    log_path: Path
    before: HostNetworkState

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 30.0) -> None:
        """Stop it by process id, then undo its iptables chains, ip_forward and docker0."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # dockerd stops its containers and containerd
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.before.restore()


def ensure_daemon(log_path: Path) -> DockerDaemon | None:
    """A running engine: the one already there (None), or a dockerd started now, logging to `log_path`."""
    if shutil.which("docker") is None:
        raise DockerUnavailableError("no `docker` client on PATH: apt-get install docker.io")
    if docker_answers():
        return None
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise DockerUnavailableError("no Docker engine answers and there is no dockerd: apt-get install docker.io")
    if os.geteuid() != 0:
        raise DockerUnavailableError("no Docker engine answers, and starting dockerd needs root")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    before = HostNetworkState.capture()
    with log_path.open("ab") as output:
        process = subprocess.Popen(
            [dockerd],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Ctrl-C in the terminal does not reach it
        )
    daemon = DockerDaemon(process, log_path, before)
    deadline = time.monotonic() + DAEMON_START_TIMEOUT
    while not docker_answers(timeout=5):
        if process.poll() is not None or time.monotonic() > deadline:
            daemon.stop()
            tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
            raise DockerUnavailableError("dockerd did not come up:\n" + "\n".join(tail))
        time.sleep(0.5)
    return daemon


def bridge_gateway() -> str:
    """The host's address on the default bridge network, as containers see it (e.g. 172.17.0.1)."""
    done = subprocess.run(
        ["docker", "network", "inspect", "bridge", "--format", "{{json .}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    network = json.loads(done.stdout or "{}")
    gateway = gateway_of((network.get("IPAM") or {}).get("Config"))
    if gateway:
        return gateway
    # The default bridge often lists only its subnet; its gateway is the bridge interface's address.
    interface = (network.get("Options") or {}).get("com.docker.network.bridge.name") or "docker0"
    shown = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "dev", interface], capture_output=True, text=True, timeout=30, check=False
    )
    address = interface_address(shown.stdout)
    if not address:
        raise DockerUnavailableError(f"the bridge network has no IPv4 gateway ({interface} has no IPv4 address)")
    return address


def gateway_of(ipam_config: Iterable[dict[str, str]] | None) -> str:
    """The IPv4 gateway an IPAM configuration names, or ''."""
    for entry in ipam_config or []:
        gateway = entry.get("Gateway", "")
        if gateway and ":" not in gateway:  # IPv4: the stack's servers bind IPv4 addresses
            return gateway
    return ""


def interface_address(ip_output: str) -> str:
    """The address in `ip -4 -o addr show` output (`5: docker0    inet 172.17.0.1/16 brd ...`), or ''."""
    for line in ip_output.splitlines():
        fields = line.split()
        if "inet" in fields:
            return fields[fields.index("inet") + 1].split("/")[0]
    return ""


def sam_containers_under(directory: Path) -> list[str]:
    """Ids of SAM's Lambda containers that mount something under `directory` (ours, not anyone else's)."""
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={SAM_CONTAINER_LABEL}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    ids = listed.stdout.split()
    if not ids:
        return []
    inspected = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True, timeout=60, check=False)
    try:
        containers = json.loads(inspected.stdout or "[]")
    except ValueError:
        return []
    return containers_mounting(containers, directory)


def containers_mounting(containers: Iterable[dict[str, object]], directory: Path) -> list[str]:
    prefix = str(directory.resolve())
    found = []
    for container in containers:
        mounts = container.get("Mounts") or []
        sources = [str(m.get("Source", "")) for m in mounts if isinstance(m, dict)] if isinstance(mounts, list) else []
        if any(source == prefix or source.startswith(prefix + os.sep) for source in sources):
            found.append(str(container["Id"]))
    return found


def remove_containers(ids: Iterable[str]) -> None:
    for container_id in ids:
        subprocess.run(["docker", "rm", "-f", container_id], capture_output=True, timeout=60, check=False)
