# Attack: the kernel keyring (a frequent source of kernel bugs, and shared
# per uid with every other run): join a session keyring, add a user key,
# create a keyring, request_key, read /proc/keys.
# Expected: keyctl, add_key and request_key are EPERM (seccomp); /proc/keys is
# masked (empty).
from attacklib import *

KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING = -3, -4
KEYCTL_GET_KEYRING_ID, KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_READ = 0, 1, 11
expect_sys("keyctl JOIN_SESSION_KEYRING", "keyctl", KEYCTL_JOIN_SESSION_KEYRING, b"pycage-attack")
expect_sys("keyctl GET_KEYRING_ID user", "keyctl", KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 1)
expect_sys("add_key user", "add_key", b"user", b"pycage-attack", b"secret", 6, KEY_SPEC_USER_KEYRING)
expect_sys("add_key keyring", "add_key", b"keyring", b"pycage-attack", 0, 0, KEY_SPEC_SESSION_KEYRING)
expect_sys("request_key", "request_key", b"user", b"pycage-attack", 0, KEY_SPEC_SESSION_KEYRING)
data = open("/proc/keys").read()
if data:
    escaped("/proc/keys readable", data[:80])
else:
    blocked("/proc/keys", "masked (empty)")
done()
