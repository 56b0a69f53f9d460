import sys

from idemrace.cli import main

sys.exit(main())
