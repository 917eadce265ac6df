"""The receiving benchmarks' mail servers: one long-lived mailenv with big mailboxes, reused.

Filling 10,000 messages (≈ 410 MB) takes about a minute, so the instance lives in a fixed
directory (POSTROOM_BENCH_MAILENV, default /tmp/postroom-bench-sync) and is started again
(same ports) or reused by the next run. `python3 -m benchmarks.bench_sync_env stop` stops it;
delete the directory to start from scratch.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "tests" / "fixtures" / "mailenv.sh"
FILL = REPO / "tests" / "fixtures" / "fill_mailbox.py"
# Dovecot runs as another user and must reach it: not a private temporary directory.
DEFAULT_DIRECTORY = Path(tempfile.gettempdir()) / "postroom-bench-sync"
DIRECTORY = Path(os.environ.get("POSTROOM_BENCH_MAILENV", str(DEFAULT_DIRECTORY)))
SERVICES = ("imap", "imaps", "pop3", "pop3s", "lmtp", "submission", "smtps", "mx")
PASSWORD = "secret"  # noqa: S105  (a throw-away loopback test server)
BIG_USER = "big@example.test"  # the 10,000-message mailbox (fill_mailbox.py --seed 42)
POP_USER = "pop@example.test"  # 1,000 messages for the POP3 case
IDLE_USERS = tuple(f"idle{n}@example.test" for n in range(200))
_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])


@dataclass(frozen=True)
class BenchMailEnv:
    directory: Path
    ports: dict[str, int]

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def ca_file(self) -> Path:
        return self.directory / "ssl" / "ca.pem"

    def maildir(self, user: str) -> Path:
        local, domain = user.split("@")
        return self.directory / "mail" / domain / local / "Maildir"

    def script(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, PATH=_PATH, MAILENV_IPV6="0")
        env |= {f"MAILENV_{name.upper()}_PORT": str(p) for name, p in self.ports.items()}
        users = [BIG_USER, POP_USER, *IDLE_USERS, "alice@example.test"]
        env["MAILENV_USERS"] = " ".join(f"{user}:{PASSWORD}" for user in users)
        return subprocess.run(
            ["bash", str(SCRIPT), args[0], str(self.directory), *args[1:]],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def fill(self, user: str, count: int, *, seed: int, start: int = 0, new: bool = False) -> None:
        """Messages start..start+count-1 of the seed's series into the user's INBOX (files)."""
        args = [sys.executable, str(FILL), "--maildir", str(self.maildir(user))]
        args += ["-n", str(count), "--seed", str(seed), "--start", str(start)]
        args += ["--new"] if new else []
        subprocess.run(args, check=True, capture_output=True)


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    return False


def _state_file() -> Path:
    return DIRECTORY / "bench-state.json"


def _load_state() -> dict[str, object]:
    path = _state_file()
    return json.loads(path.read_text()) if path.exists() else {}


def _save_state(state: dict[str, object]) -> None:
    _state_file().write_text(json.dumps(state))


def bench_mailenv() -> BenchMailEnv:
    """The running instance, started (and filled, the first time) if needed."""
    DIRECTORY.mkdir(parents=True, exist_ok=True)
    state = _load_state()
    ports = state.get("ports")
    if not isinstance(ports, dict):
        ports = dict(zip(SERVICES, _free_ports(len(SERVICES)), strict=True))
        state["ports"] = ports
        _save_state(state)
    env = BenchMailEnv(DIRECTORY, {str(k): int(v) for k, v in ports.items()})
    if not all(_listening(port) for port in env.ports.values()):
        result = env.script("start")
        if result.returncode != 0:
            raise RuntimeError(f"mailenv start failed: {result.stdout}{result.stderr}")
        deadline = time.monotonic() + 30
        while not all(_listening(p) for p in env.ports.values()):
            if time.monotonic() > deadline:
                raise RuntimeError("mailenv did not start listening")
            time.sleep(0.1)
    _raise_limits(env)
    _fill_once(env, state)
    return env


# Dovecot's default of 100 processes per service: each IMAPS client holds one imap-login
# (the TLS proxy) and one imap process, so 200 idling accounts need more. And every mailbox
# here belongs to one Unix user, whose 128 inotify instances (the kernel's default
# max_user_instances) run out after 128 IDLE sessions; Dovecot then looks for new mail every
# mailbox_idle_check_interval (30 s by default) instead: 1 s here. The test fixture's
# configuration is left as it is; only this instance gets these settings.
_LIMITS = """
# postroom benchmarks v2: room for 200+ idling clients
service imap-login {
  process_limit = 1000
}
service imap {
  process_limit = 1000
}
mailbox_idle_check_interval = 1 secs
"""


def _raise_limits(env: BenchMailEnv) -> None:
    config = env.directory / "dovecot" / "dovecot.conf"
    if "postroom benchmarks v2" in config.read_text():
        return
    with config.open("a") as out:
        out.write(_LIMITS)
    subprocess.run(
        ["doveadm", "-c", str(config), "reload"],
        env=dict(os.environ, PATH=_PATH),
        check=True,
        capture_output=True,
    )
    time.sleep(1)


def _fill_once(env: BenchMailEnv, state: dict[str, object]) -> None:
    """The big mailboxes are written once; a crash half-way leaves no "filled" mark."""
    if not state.get("big_filled"):
        _reset_maildir(env, BIG_USER)
        env.fill(BIG_USER, 10_000, seed=42)
        state["big_filled"] = True
        _save_state(state)
    if not state.get("pop_filled"):
        _reset_maildir(env, POP_USER)
        env.fill(POP_USER, 1_000, seed=7)
        state["pop_filled"] = True
        _save_state(state)


def _reset_maildir(env: BenchMailEnv, user: str) -> None:
    """An empty Maildir owned by Dovecot's user (files written as root are chown'ed to it)."""
    maildir = env.maildir(user)
    subprocess.run(["rm", "-rf", str(maildir)], check=True)
    maildir.mkdir(parents=True)
    owner = (env.directory / "mail").stat()
    for path in (maildir, maildir.parent, maildir.parent.parent):
        os.chown(path, owner.st_uid, owner.st_gid)


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    if command == "stop":
        state = _load_state()
        ports = state.get("ports")
        if isinstance(ports, dict):
            BenchMailEnv(DIRECTORY, {str(k): int(v) for k, v in ports.items()}).script("stop")
        return
    env = bench_mailenv()
    print(f"mailenv in {env.directory}: " + " ".join(f"{k}={v}" for k, v in env.ports.items()))
    print(f"source {shlex.quote(str(env.directory / 'env.sh'))}")


if __name__ == "__main__":
    main()
