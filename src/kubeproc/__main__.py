"""``python -m kubeproc``."""

import sys

from kubeproc.cli.main import main

sys.exit(main())
