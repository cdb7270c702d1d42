"""Hostile experiments for the sandbox tests: each one is the body of an `experiment.py`."""

SECRET = "sk-aisci-test-secret-0123456789"

PRINT_ENV = """
import json, os
print(json.dumps(dict(os.environ)))
"""

IGNORE_SIGTERM = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ignoring SIGTERM", flush=True)
while True:
    time.sleep(0.1)
"""

DETACH = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open(os.path.join(sys.argv[1], "daemon.pid"), "w") as f:
            f.write(str(os.getpid()))
        print("daemon holds stdout", flush=True)
        time.sleep(600)
    os._exit(0)
time.sleep(0.5)
print("main exits")
"""

FLOOD = """
import sys
line = "x" * 1023 + "\\n"
for _ in range(20 * 1024):
    sys.stdout.write(line)
sys.stdout.write("THE END\\n")
"""

EAT_MEMORY = """
hog = []
while True:
    hog.append(bytearray(32 * 2**20))
"""

PLANT_SYMLINK = """
import os, sys
os.symlink("/etc/passwd", os.path.join(sys.argv[1], "final_info.json"))
"""

MALFORMED = """
import os, sys
with open(os.path.join(sys.argv[1], "final_info.json"), "w") as f:
    f.write('{"baseline": {"means": {"loss": 0.5}')
"""

GOOD = """
import json, os, sys
with open(os.path.join(sys.argv[1], "final_info.json"), "w") as f:
    json.dump({"baseline": {"means": {"loss": 0.5}, "stderrs": {"loss": 0.01}}}, f)
print("wrote results")
"""

NETWORK = """
import socket, sys
port = int(sys.argv[2])
targets = ["127.0.0.1", "172.17.0.1"] + sys.argv[3:]
for host in targets:
    try:
        socket.create_connection((host, port), timeout=2).close()
        print(f"REACHED {host}")
    except OSError as exc:
        print(f"blocked {host}: {exc}")
try:
    socket.getaddrinfo("pypi.org", 443)
    print("REACHED dns")
except OSError as exc:
    print(f"blocked dns: {exc}")
"""

ESCAPE_WRITES = """
import os, sys
attempts = ["/work/experiment.py", "/work/planted.py", "/etc/planted", "/planted", "/usr/lib/planted"]
for path in attempts:
    try:
        with open(path, "w") as f:
            f.write("pwned")
        print(f"WROTE {path}")
    except OSError as exc:
        print(f"refused {path}: {exc.strerror}")
with open(os.path.join(sys.argv[1], "ok.txt"), "w") as f:
    f.write("allowed")
with open("/tmp/scratch", "w") as f:
    f.write("allowed")
print("uid", os.getuid())
"""

FORK_BOMB = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""
