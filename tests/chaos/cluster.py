"""The chaos suite's private 3-broker Kafka cluster: find partition leaders, SIGKILL / SIGSTOP a node, restart it.

The cluster is the one `ops/start kafka` started from THIS checkout with KAFKA_BROKERS=3 (pid files in
`.local/run/kafka-<n>.pid`), on ports below the kernel's ephemeral range (`ephemeral_floor()`). A node is restarted with the exact command line it ran with (read from
/proc before the kill), its pid file rewritten so that `ops/stop kafka` still stops it. The shared
single broker (59092) and the default cluster ports are refused: a chaos run never touches them.
"""

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = ROOT / ".local" / "run"
LOG_DIR = ROOT / ".local" / "log"
SHARED_PORTS = {59092, 59192, 59292}  # the shared broker / default cluster: never ours to kill
# A restarted JVM took 2-3 minutes to listen at load average ~30 (seed 13 of 2026-11-30, beside a
# benchmark): a generous bound, not a measurement.
RESTART_TIMEOUT_S = 300


def ephemeral_floor() -> int:
    """The lowest local port the kernel hands out to outgoing connections (32768 by default).

    A service the suite kills must listen below it: while it is down, the clients reconnecting to
    127.0.0.1:<its port> in a loop can be given that very port as their local port (a TCP
    self-connect), and its restart then fails with "Address already in use" (seen on a broker).
    """
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


class ClusterError(RuntimeError):
    pass


@dataclass
class Node:
    node_id: int
    port: int
    pid: int
    cmdline: list[str]
    cwd: str


def bootstrap_ports() -> list[int]:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    ports = [int(s.rsplit(":", 1)[1]) for s in servers.split(",") if s]
    hosts = {s.rsplit(":", 1)[0] for s in servers.split(",") if s}
    if len(ports) != 3 or hosts != {"127.0.0.1"}:
        raise ClusterError(f"chaos needs a private 3-node cluster on 127.0.0.1, not {servers!r}")
    if SHARED_PORTS & set(ports):
        raise ClusterError(f"refusing to run chaos against the shared brokers ({servers})")
    floor = ephemeral_floor()
    if any(p >= floor for p in ports):
        raise ClusterError(
            f"the chaos brokers must listen below the ephemeral port range (from {floor}), not {servers}: "
            "use `make chaos` (CHAOS_KAFKA_PORT, default 29492)"
        )
    return ports


class Cluster:
    """The three nodes of this checkout's cluster (node n listens on the n-th bootstrap port)."""

    def __init__(self) -> None:
        self.ports = bootstrap_ports()
        self.nodes: dict[int, Node] = {}
        for n, port in enumerate(self.ports, start=1):
            pid = self._pid(n)
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            argv = [a.decode() for a in cmd if a]
            if "kafka.Kafka" not in argv:
                raise ClusterError(f"pid {pid} of kafka-{n} is not a Kafka broker")
            cwd = os.readlink(f"/proc/{pid}/cwd")
            self.nodes[n] = Node(n, port, pid, argv, cwd)
        self.admin = AdminClient({"bootstrap.servers": os.environ["KAFKA_BOOTSTRAP_SERVERS"]})

    @staticmethod
    def _pid(n: int) -> int:
        path = RUN_DIR / f"kafka-{n}.pid"
        try:
            pid = int(path.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError) as exc:
            raise ClusterError(f"kafka-{n} is not running from this checkout ({path}): {exc}") from exc
        return pid

    def leader_of(self, topic: str, partition: int) -> int:
        """The node id leading `topic`/`partition` now, from the cluster's metadata (admin API)."""
        meta = self.admin.list_topics(topic, timeout=15)
        leader = meta.topics[topic].partitions[partition].leader
        if leader not in self.nodes:
            raise ClusterError(f"{topic}[{partition}] has no leader among our nodes ({leader})")
        return int(leader)

    def fully_replicated(self, topics: list[str]) -> bool:
        """Every partition of `topics` has all 3 replicas in sync (a node that came back caught up)."""
        try:
            meta = self.admin.list_topics(timeout=10)
        except Exception:
            return False
        for name in topics:
            t = meta.topics.get(name)
            if t is None or t.error is not None:
                return False
            for p in t.partitions.values():
                if len(p.isrs) < 3 or p.leader < 0:
                    return False
        return True

    def sigkill(self, n: int) -> None:
        os.kill(self.nodes[n].pid, signal.SIGKILL)
        for _ in range(100):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.nodes[n].pid, os.WNOHANG)
            if not Path(f"/proc/{self.nodes[n].pid}").exists() or _zombie(self.nodes[n].pid):
                return
            time.sleep(0.1)

    def restart(self, n: int) -> None:
        """Start node `n` again with its old command line; wait (bounded) until it listens."""
        node = self.nodes[n]
        log = open(LOG_DIR / f"kafka-{n}.log", "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            ["nice", "-n", "5", *node.cmdline],
            cwd=node.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        node.pid = proc.pid
        (RUN_DIR / f"kafka-{n}.pid").write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + RESTART_TIMEOUT_S
        while not _listening(node.port):
            if proc.poll() is not None:
                raise ClusterError(f"kafka-{n} exited on restart ({proc.returncode}); see {LOG_DIR}")
            if time.monotonic() > deadline:
                raise ClusterError(f"kafka-{n} did not listen on {node.port} within {RESTART_TIMEOUT_S} s")
            time.sleep(0.5)

    def sigstop(self, n: int) -> None:
        os.kill(self.nodes[n].pid, signal.SIGSTOP)

    def sigcont(self, n: int) -> None:
        os.kill(self.nodes[n].pid, signal.SIGCONT)

    def heal(self) -> None:
        """After a run (even an interrupted one): every node continued and running."""
        for n, node in self.nodes.items():
            if Path(f"/proc/{node.pid}").exists() and not _zombie(node.pid):
                os.kill(node.pid, signal.SIGCONT)
            else:
                self.restart(n)

    def all_running(self) -> bool:
        return all(
            Path(f"/proc/{node.pid}").exists() and not _zombie(node.pid) for node in self.nodes.values()
        )


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except OSError:
        return True


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0
