"""``python -m tinyguardrail`` runs the command line."""

import sys

from tinyguardrail.cli import main

sys.exit(main())
