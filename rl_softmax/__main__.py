"""``python -m rl_softmax`` is the ``rl-softmax`` command."""

import sys

from rl_softmax.cli import main

sys.exit(main())
