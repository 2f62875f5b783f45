"""Programs for the compat tests, one per Judge0 status they must produce."""

from __future__ import annotations

C_HELLO = '#include <stdio.h>\nint main(void) { puts("hello from c"); return 0; }\n'
CPP_HELLO = '#include <iostream>\nint main() { std::cout << "hello from c++" << std::endl; }\n'
PY_ECHO = "print(input())"
PY_SPIN = "while True:\n    pass\n"
PY_SLEEP = "import time\ntime.sleep({seconds})\nprint('slept')\n"
PY_EXIT_3 = "import sys\nsys.exit(3)"
PY_MEMORY_HOG = "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))\n"
PY_FLOOD = "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n"
C_BIG_FILE = '#include <stdio.h>\nint main(void) { FILE *f = fopen("big", "w"); for (;;) fputc(1, f); }\n'
C_SEGV = "int main(void) { volatile int *p = 0; *p = 1; return 0; }\n"
C_FPE = "int main(void) { volatile int seven = 7, zero = 0; return seven / zero; }\n"
C_ABORT = "#include <stdlib.h>\nint main(void) { abort(); }\n"
C_USR1 = "#include <signal.h>\nint main(void) { raise(SIGUSR1); return 0; }\n"
C_SYNTAX_ERROR = "int main(void) { return 0 }\n"
C_VALUE = '#include <stdio.h>\nint main(void) { printf("%d\\n", VALUE); return 0; }\n'
# Non-ASCII text and bytes that are not UTF-8 at all.
PY_BINARY = (
    "import sys\n"
    "sys.stdout.buffer.write('héllo 世界 🎉\\n'.encode() + bytes([0, 1, 2, 0x7f, 0xfe, 0xff]))\n"
    "sys.stderr.write('ërr\\n')\n"
)
BINARY_STDOUT = "héllo 世界 🎉\n".encode() + bytes([0, 1, 2, 0x7F, 0xFE, 0xFF])
