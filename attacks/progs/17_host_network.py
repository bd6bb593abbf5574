# Attack: reach the host's network: TCP to a listener the test opened on the
# host (127.0.0.1, ::1 and every host address), UDP to a host socket, the
# host's abstract unix socket, and look for interfaces.
# Arguments: TCP port, UDP port, abstract unix socket name, host addresses...
# Expected: no interface is up (only a down lo): IP connects fail with
# ENETUNREACH (or EADDRNOTAVAIL/EHOSTUNREACH), UDP sends fail (or stay in the
# jail's own stack, for 0.0.0.0), the abstract socket lives in the host's
# network namespace, so connect is ECONNREFUSED.
# The test's listeners see no connection and no datagram.
from attacklib import *
import socket

tcp, udp, abstract = int(ARGS[0]), int(ARGS[1]), ARGS[2]
addrs = ["127.0.0.1", "::1", "0.0.0.0", "127.0.1.1"] + ARGS[3:]
bad = ("ENETUNREACH", "EADDRNOTAVAIL", "EHOSTUNREACH", "ECONNREFUSED", "EAFNOSUPPORT")
for a in addrs:
    fam = socket.AF_INET6 if ":" in a else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect((a, tcp))
        escaped("tcp connect %s:%d" % (a, tcp), "connected")
    except socket.timeout:
        unexpected("tcp connect %s:%d" % (a, tcp), "timeout (a route exists?)")
    except OSError as e:
        judge("tcp connect %s:%d" % (a, tcp), ename(e.errno), bad)
    s.close()
    u = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        u.sendto(b"pycage-attack", (a, udp))
        # Accepted by the jail's own stack (0.0.0.0 means "this host"): the
        # datagram cannot leave the jail's net namespace; the test's UDP
        # socket on the host proves that it never arrives.
        info("udp send %s:%d accepted locally" % (a, udp))
    except OSError as e:
        judge("udp send %s:%d" % (a, udp), ename(e.errno), bad)
    u.close()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect("\0" + abstract)
    escaped("abstract unix @" + abstract, "connected")
except OSError as e:
    judge("abstract unix @" + abstract, ename(e.errno), ("ECONNREFUSED",))
up = []
for line in open("/proc/net/dev").readlines()[2:]:
    up.append(line.split(":")[0].strip())
if up != ["lo"]:
    escaped("interfaces", up)
import fcntl, struct
s = socket.socket()
flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH", b"lo", 0)))[1]
if flags & 1:
    escaped("lo is up", hex(flags))
else:
    blocked("interfaces", "only lo, down")
# Bring lo up (needs CAP_NET_ADMIN in the jail's net ns).
try:
    fcntl.ioctl(s, 0x8914, struct.pack("16sH", b"lo", flags | 1))
    escaped("SIOCSIFFLAGS lo up", "")
except OSError as e:
    judge("SIOCSIFFLAGS lo up", ename(e.errno), ("EPERM",))
done()
