# Attack: exhaust the host's memory: allocate and touch 16 MiB blocks until
# the kernel says no.
# Expected: the memory cgroup (256 MiB, no swap) OOM-kills the jail: reason
# oom, exit 137, peak memory at the limit; the host is unaffected.
from attacklib import *

say("allocating")
blocks = []
while True:
    blocks.append(bytearray(16 << 20))
    if len(blocks) * 16 > 4096:
        escaped("memory", "allocated 4 GiB")
        break
