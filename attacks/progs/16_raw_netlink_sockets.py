# Attack: sockets beyond plain IP and unix: AF_PACKET (sniff and inject
# frames), raw IP, netlink (route, audit, netfilter, uevent, sock_diag,
# xfrm), AF_ALG, AF_KEY, AF_VSOCK (reach the hypervisor), AF_BLUETOOTH,
# AF_XDP, AF_CAN, AF_TIPC, AF_RDS, ICMP ping sockets; socketpair of non-unix
# families; families hidden behind high bits.
# Expected: EPERM for every one of them (the filter allows only AF_UNIX,
# AF_INET, AF_INET6; raw IP needs CAP_NET_RAW, which nobody has); ping
# sockets are EACCES (ping_group_range of the new net ns is empty).
from attacklib import *
import socket

S = socket
tries = [
    ("AF_PACKET raw", 17, S.SOCK_RAW, 0x0300), ("AF_PACKET dgram", 17, S.SOCK_DGRAM, 0x0300),
    ("AF_INET raw icmp", S.AF_INET, S.SOCK_RAW, 1), ("AF_INET raw tcp", S.AF_INET, S.SOCK_RAW, 6),
    ("AF_INET6 raw", S.AF_INET6, S.SOCK_RAW, 58),
    ("NETLINK_ROUTE", 16, S.SOCK_RAW, 0), ("NETLINK_SOCK_DIAG", 16, S.SOCK_DGRAM, 4),
    ("NETLINK_AUDIT", 16, S.SOCK_RAW, 9), ("NETLINK_NETFILTER", 16, S.SOCK_RAW, 12),
    ("NETLINK_KOBJECT_UEVENT", 16, S.SOCK_DGRAM, 15), ("NETLINK_XFRM", 16, S.SOCK_RAW, 6),
    ("NETLINK_GENERIC", 16, S.SOCK_RAW, 16),
    ("AF_ALG", 38, S.SOCK_SEQPACKET, 0), ("AF_KEY", 15, S.SOCK_RAW, 2),
    ("AF_VSOCK", 40, S.SOCK_STREAM, 0), ("AF_BLUETOOTH", 31, S.SOCK_RAW, 1),
    ("AF_XDP", 44, S.SOCK_RAW, 0), ("AF_CAN", 29, S.SOCK_RAW, 1), ("AF_TIPC", 30, S.SOCK_RDM, 0),
    ("AF_RDS", 21, S.SOCK_SEQPACKET, 0), ("AF_APPLETALK", 5, S.SOCK_DGRAM, 0),
    ("AF_X25", 9, S.SOCK_SEQPACKET, 0), ("AF_LLC", 26, S.SOCK_DGRAM, 0),
]
for name, fam, typ, proto in tries:
    r, err = syscall(41, fam, typ, proto)
    judge("socket " + name, err, ("EPERM",), "fd %d" % r)
    if err is None:
        os.close(r)
# A family in the low 32 bits is what the kernel reads: high garbage must not
# turn netlink into something the filter allows.
r, err = syscall(41, 16 | (1 << 32), S.SOCK_RAW, 0)
judge("socket NETLINK with high bits", err, ("EPERM",))
for fam, name in ((S.AF_INET, "AF_INET"), (16, "AF_NETLINK")):
    sv = (ctypes.c_int * 2)()
    r, err = syscall(53, fam, S.SOCK_DGRAM, 0, sv)
    judge("socketpair " + name, err, ("EPERM", "EOPNOTSUPP"))
for fam, name in ((S.AF_INET, "ping v4"), (S.AF_INET6, "ping v6")):
    r, err = syscall(41, fam, S.SOCK_DGRAM, 1 if fam == S.AF_INET else 58)
    judge("socket " + name, err, ("EACCES", "EPERM"))
done()
