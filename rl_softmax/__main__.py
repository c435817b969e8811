"""``python -m rl_softmax`` is the ``rl-softmax`` command."""

from rl_softmax.cli import console

console()
