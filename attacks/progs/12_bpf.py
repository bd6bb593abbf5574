# Attack: eBPF (verifier bugs are a classic kernel escalation): create a map,
# load a socket-filter program, query BTF.
# Expected: bpf(2) is EPERM for every command (seccomp).
from attacklib import *

BPF_MAP_CREATE, BPF_PROG_LOAD, BPF_BTF_GET_NEXT_ID, BPF_PROG_GET_NEXT_ID = 0, 5, 23, 11
attr = (ctypes.c_uint32 * 32)()
attr[0], attr[1], attr[2], attr[3] = 2, 4, 8, 16  # ARRAY map, key 4, value 8, 16 entries
expect_sys("bpf MAP_CREATE", "bpf", BPF_MAP_CREATE, attr, 128)
# BPF_PROG_TYPE_SOCKET_FILTER: r0 = 0; exit
insns = (ctypes.c_uint64 * 2)(0x00000000000000b7, 0x0000000000000095)
lic = ctypes.create_string_buffer(b"GPL")
pattr = (ctypes.c_uint64 * 16)()
ctypes.memmove(pattr, (ctypes.c_uint32 * 2)(1, 2), 8)          # prog_type, insn_cnt
pattr[1] = addr(insns)
pattr[2] = addr(lic)
expect_sys("bpf PROG_LOAD", "bpf", BPF_PROG_LOAD, pattr, 128)
expect_sys("bpf PROG_GET_NEXT_ID", "bpf", BPF_PROG_GET_NEXT_ID, (ctypes.c_uint32 * 4)(), 16)
expect_sys("bpf BTF_GET_NEXT_ID", "bpf", BPF_BTF_GET_NEXT_ID, (ctypes.c_uint32 * 4)(), 16)
done()
