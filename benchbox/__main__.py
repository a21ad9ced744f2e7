import sys

from benchbox.cli import main

sys.exit(main())
