# Attack: huge argv and environment: exec with 4 MiB of arguments, a single
# 200 KiB argument (over MAX_ARG_STRLEN), 3 MiB of environment; and check
# that the large argv/env the test passed to pycage arrived intact.
# Arguments: the test's N (count of "--env PYCAGE_ATTACK_E<i>=..." it set)
# followed by a long argument.
# Expected: the oversized execs fail cleanly with E2BIG; the run continues;
# the test's large (but legal) argv and env arrive byte for byte.
from attacklib import *
import subprocess

n = int(ARGS[0])
long_arg = ARGS[1]
if long_arg != "a" * len(long_arg) or len(long_arg) < 100000:
    escaped("long argument", "changed: %d bytes" % len(long_arg))
else:
    blocked("long argument", "intact, %d bytes" % len(long_arg))
got = sum(1 for i in range(n) if os.environ.get("PYCAGE_ATTACK_E%d" % i) == "v" * 1000)
if got != n:
    unexpected("environment from the test", "%d of %d" % (got, n))
else:
    blocked("environment from the test", "intact, %d variables" % n)
for what, argv, env in (("4 MiB of arguments", ["true"] + ["x" * 4096] * 1024, {}),
                        ("one 200 KiB argument", ["true", "x" * (200 << 10)], {}),
                        ("3 MiB environment", ["true"], {"E%d" % i: "y" * 4096 for i in range(768)})):
    try:
        subprocess.run(["/usr/bin/true"] + argv[1:], env=env)
        escaped("exec with " + what, "ran")
    except OSError as e:
        judge("exec with " + what, ename(e.errno), ("E2BIG",))
done()
