import sys

try:  # Ctrl-C while Python is still importing the command line, or entering it: the same one line as later
    from align.errors import Terminated
    from align.interrupting import handle_signals

    handle_signals()  # now: one a library swallows while the command line loads is recorded too (align.interrupting)
    from align.cli import main

    code = main()
except KeyboardInterrupt as stop:
    terminated = isinstance(stop, Terminated)
    print("zhalign: terminated (SIGTERM)" if terminated else "zhalign: interrupted", file=sys.stderr)
    code = 143 if terminated else 130
sys.exit(code)
