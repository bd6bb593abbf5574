# Attack: one huge line without a newline: 50 MB to stdout in one write
# (a reader that buffers lines would take it all), then the same on stderr.
# Expected: stdout is cut at exactly 1 MiB, reason output-limit, exit 137;
# pycage's memory does not grow with the line.
from attacklib import *

os.write(1, b"x" * (50 * 1000 * 1000))
os.write(2, b"y" * (50 * 1000 * 1000))
escaped("wrote 100 MB", "not stopped")
