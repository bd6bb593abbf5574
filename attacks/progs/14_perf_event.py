# Attack: perf_event_open (kernel pointers, side channels, a bug-rich
# subsystem), even for self-monitoring that perf_event_paranoid would allow.
# Expected: EPERM for every event (seccomp).
from attacklib import *

for typ, config, name in ((1, 0, "sw cpu-clock"), (1, 2, "sw page-faults"), (0, 0, "hw cycles"),
                          (2, 1, "tracepoint")):
    attr = (ctypes.c_uint32 * 32)()
    attr[0], attr[1] = typ, 128            # type, size
    ctypes.c_uint64.from_buffer(attr, 8).value = config
    ctypes.c_uint64.from_buffer(attr, 40).value = 1 << 5 | 1 << 6  # exclude_kernel|exclude_hv
    r, err = expect_sys("perf_event_open " + name, "perf_event_open", attr, 0, -1, -1, 0)
    if err is None:
        os.close(r)
done()
