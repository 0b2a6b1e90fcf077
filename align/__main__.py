import sys

try:  # Ctrl-C while Python is still importing the command line, or entering it: the same one line as later
    from align.cli import main

    code = main()
except KeyboardInterrupt:
    print("zhalign: interrupted", file=sys.stderr)
    code = 130
sys.exit(code)
