import sys

try:  # Ctrl-C while Python is still importing the command line: the same one line as later
    from align.cli import main
except KeyboardInterrupt:
    print("zhalign: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
