"""The host loop's vector environment (engine.host_vector): stepping only some of
its environments (what the final policy's evaluation does as episodes end) gives,
in this process and over worker processes, what gymnasium gives stepping each of
those environments alone."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rl_softmax.engine import host_vector
from rl_softmax.envs.host import make_host


@pytest.mark.parametrize("processes", [0, 2])
def test_stepping_some_environments_matches_gymnasium_one_by_one(processes):
    env = make_host("CartPole-v1")
    num_envs, seeds = 5, [3, 1, 4, 1, 5]
    vector = host_vector.make_vector(env, num_envs, processes)
    singles = [gym.make("CartPole-v1") for _ in range(num_envs)]
    rng = np.random.default_rng(0)
    try:
        obs, _ = vector.reset(seed=seeds)
        for single, seed, row in zip(singles, seeds, obs, strict=True):
            np.testing.assert_array_equal(single.reset(seed=seed)[0], row)
        alive = np.ones(num_envs, bool)
        for step in range(40):
            # a changing subset, across both groups of the workers, then none
            playing = np.flatnonzero(alive & (rng.random(num_envs) < 0.7))
            if step == 39:
                playing = playing[:0]
            actions = rng.integers(0, 2, playing.size)
            got = host_vector.step_some(vector, playing, actions)
            assert [len(x) for x in got] == [playing.size] * 4
            for j, (i, a) in enumerate(zip(playing, actions, strict=True)):
                o, r, term, trunc, _ = singles[i].step(int(a))
                np.testing.assert_array_equal(got[0][j], o)
                assert (got[1][j], got[2][j], got[3][j]) == (r, term, trunc)
                alive[i] &= not (term or trunc)
        assert not alive.all(), "no episode ended: the test checks ended ones wait"
    finally:
        vector.close()
