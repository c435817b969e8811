"""Deep Q-networks with a softmax (or any value-based) behaviour policy.

A rollout :class:`~rl_softmax.agents.base.Agent`: a ReLU MLP ``Q(s, .)`` acts through
an exploration rule of :mod:`rl_softmax.agents.rules` (Boltzmann at a
constant, scheduled or entropy-targeted ``tau``; epsilon-greedy; greedy), every
rollout goes into a ring replay buffer (:mod:`rl_softmax.agents.replay`), and once
``learning_starts`` environment steps are stored, every ``train_every``-th learn
takes one optax step on the Huber loss between ``Q(S, A)`` and the target

    ``y = R + gamma * (1 - terminated) * bootstrap(S')``

over a uniform minibatch (Mnih et al., 2015). Termination cuts the bootstrap,
truncation does not. ``bootstrap`` reads the target network ``Q'``:

==============  =====================================================  ==========
``target``      ``bootstrap(S')``                                      rule needs
==============  =====================================================  ==========
``dqn``         ``max_a Q'(S', a)`` (Mnih et al., 2015)                anything
``double_dqn``  ``Q'(S', argmax_a Q(S', a))``: the online network      anything
                picks, the target network values (van Hasselt et al.,
                2016)
``soft_dqn``    ``tau log sum_a exp(Q'(S', a) / tau)``, the free       ``"tau"``
                energy at the rule's ``tau`` at ``S'`` (Haarnoja et
                al., 2017); ``tau = 0`` is DQN's max
``mellowmax_``  ``log(mean_a exp(omega Q'(S', a))) / omega``,          ``"omega"``
``dqn``         mellowmax at the rule's ``omega`` (Asadi & Littman,
                2017; DeepMellow, Kim et al., 2019)
==============  =====================================================  ==========

Every ``target_update``-th optimizer step moves the target network towards the
online one, ``Q' <- Q' + target_rate (Q - Q')`` (Polyak averaging; ``target_rate =
1`` copies it, the periodic update of the original DQN).

``act`` reports ``"values"`` (``[num_actions]``, the Q-values it acted on) beside the
rule's ``"probs"`` and ``"tau"``. Every number a sweep may vary is an array in
:class:`DQNParams`; sizes and counts are fixed when the agent is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from rl_softmax import softmax as sm
from rl_softmax.agents import replay
from rl_softmax.agents.base import Agent, Transition
from rl_softmax.agents.networks import MLPParams, annealed, clipped, init_mlp, mlp
from rl_softmax.agents.rules import Estimates, Rule, boltzmann_rule, rule_info

__all__ = [
    "TARGETS",
    "DQNParams",
    "DQNState",
    "double_backup",
    "make_dqn_agent",
    "max_backup",
    "polyak_update",
    "q_values",
    "soft_backup",
    "td_target",
]

TARGETS = ("dqn", "double_dqn", "soft_dqn", "mellowmax_dqn")
"""The bootstrap targets :func:`make_dqn_agent` accepts."""


class DQNParams(NamedTuple):
    """Sweepable numbers of a DQN agent.

    Attributes:
      explore: the rule's parameter: ``tau``, ``epsilon`` or a final entropy.
      learning_rate: the optimizer's learning rate.
      discount: ``gamma``.
      target_rate: Polyak step of a target update (1: copy the online network).
      max_grad_norm: gradients are clipped to this global norm.
    """

    explore: ArrayLike = 0.125
    learning_rate: ArrayLike = 1e-3
    discount: ArrayLike = 0.99
    target_rate: ArrayLike = 0.01
    max_grad_norm: ArrayLike = 10.0


class DQNState(NamedTuple):
    """The networks, the optimizer state, the replay buffer and the counts.

    Attributes:
      online: the online network's :func:`q_values` params.
      target: the target network's params.
      opt_state: the optimizer's state.
      replay: the :class:`~rl_softmax.agents.replay.ReplayBuffer`.
      step: environment steps stored so far (int32; the rule's schedule clock).
      updates: optimizer steps taken so far (int32).
    """

    online: MLPParams
    target: MLPParams
    opt_state: Any
    replay: replay.ReplayBuffer
    step: jax.Array
    updates: jax.Array


def q_values(params: MLPParams, obs: ArrayLike) -> jax.Array:
    """``Q(s, .)``: ReLU hidden layers and a linear output.

    Args:
      params: ``[(W, b), ...]`` from :func:`~rl_softmax.agents.networks.init_mlp`.
      obs: ``[obs_size]`` one observation.

    Returns:
      ``[num_actions]`` action values.
    """
    return mlp(params, obs, activation=jax.nn.relu)


def max_backup(q_next: ArrayLike) -> jax.Array:
    """DQN's bootstrap ``max_a Q'(S', a)``; ``q_next: [num_actions]``."""
    return jnp.max(jnp.asarray(q_next))


def double_backup(q_next_online: ArrayLike, q_next_target: ArrayLike) -> jax.Array:
    """Double DQN's bootstrap ``Q'(S', argmax_a Q(S', a))`` (van Hasselt et al., 2016).

    Args:
      q_next_online: ``[num_actions]`` the online network's values at ``S'``.
      q_next_target: ``[num_actions]`` the target network's values at ``S'``.

    Returns:
      ``[]`` the target network's value of the online network's greedy action
      (the first of tied maxima).
    """
    return jnp.asarray(q_next_target)[jnp.argmax(jnp.asarray(q_next_online))]


def soft_backup(q_next: ArrayLike, tau: ArrayLike) -> jax.Array:
    """Soft Q-learning's bootstrap ``tau log sum_a exp(Q'(S', a) / tau)``.

    The free energy (:func:`rl_softmax.softmax.free_energy`); equals
    :func:`max_backup` at ``tau = 0``. Haarnoja et al. (2017), Eq. 9.
    """
    return sm.free_energy(q_next, tau)


def td_target(
    reward: ArrayLike, terminated: ArrayLike, discount: ArrayLike, next_value: ArrayLike
) -> jax.Array:
    """``r + discount * next_value``, without the bootstrap where ``terminated``.

    A truncated step keeps its bootstrap: the next state still has a value.
    """
    bootstrap = jnp.where(jnp.asarray(terminated, bool), 0.0, next_value)
    return jnp.asarray(reward, jnp.float32) + discount * bootstrap


def polyak_update(online: Any, target: Any, rate: ArrayLike) -> Any:
    """``target + rate * (online - target)`` leaf by leaf (``rate = 1``: a copy)."""
    return jax.tree.map(lambda o, t: t + rate * (o - t), online, target)


def make_dqn_agent(
    obs_size: int,
    num_actions: int,
    rule: Rule | None = None,
    *,
    target: str = "dqn",
    optimizer: Callable[..., optax.GradientTransformation] = optax.adam,
    hidden: Sequence[int] = (64, 64),
    buffer_size: int = 50_000,
    batch_size: int = 64,
    learning_starts: int = 1000,
    train_every: int = 1,
    target_update: int = 1,
    anneal_steps: int | None = None,
) -> Agent:
    """Builds a DQN agent (see the module docstring).

    Args:
      obs_size: length of a (flat, float) observation.
      num_actions: number of discrete actions.
      rule: exploration rule from :mod:`rl_softmax.agents.rules` that sees
        ``Q(s, .)`` (``boltzmann_rule()``, the default; ``epsilon_greedy_rule()``;
        ``greedy_rule()``; ``target_entropy_rule(...)``); its ``step`` is
        environment steps.
      target: one of :data:`TARGETS`.
      optimizer: optax factory taking ``learning_rate``; gradients are clipped to
        ``params.max_grad_norm`` before it.
      hidden: hidden-layer widths of the Q-network.
      buffer_size: replay slots (transitions); holds at least one rollout.
      batch_size: transitions per optimizer step.
      learning_starts: environment steps stored before the first optimizer step.
      train_every: learns per optimizer step (1: every learn takes one).
      target_update: optimizer steps per target-network update.
      anneal_steps: the learning rate falls linearly to 0 over this many
        environment steps (None: constant).

    Returns:
      a rollout :class:`~rl_softmax.agents.base.Agent` (``per_step=False``) with
      :class:`DQNParams`.
    """
    if target not in TARGETS:
        raise ValueError(f"target={target!r}: expected one of {list(TARGETS)}.")
    for name, value, low in (
        ("obs_size", obs_size, 1), ("num_actions", num_actions, 2),
        ("buffer_size", buffer_size, 1), ("batch_size", batch_size, 1),
        ("learning_starts", learning_starts, 0), ("train_every", train_every, 1),
        ("target_update", target_update, 1),
        ("anneal_steps", 1 if anneal_steps is None else anneal_steps, 1),
    ):  # fmt: skip
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name}={value!r}: expected an integer >= {low}.")
    rule = boltzmann_rule() if rule is None else rule
    if not callable(rule):
        raise ValueError(f"rule={rule!r}: expected a rule such as boltzmann_rule().")
    needs = {"soft_dqn": "tau", "mellowmax_dqn": "omega"}.get(target)
    if needs is not None and needs not in rule_info(rule, num_actions):
        raise ValueError(
            f"rule={getattr(rule, '__qualname__', rule)!r} reports no {needs!r}, "
            f"which target={target!r} needs (boltzmann_rule reports 'tau', "
            "mellowmax_rule 'omega')."
        )
    sizes = (obs_size, *tuple(hidden), num_actions)
    no_counts = jnp.zeros((num_actions,), jnp.float32)
    over_batch = jax.vmap(q_values, (None, 0))

    def network_optimizer(params, step=0):
        # Built per call: the swept numbers are traced arrays.
        learning_rate = annealed(params.learning_rate, step, anneal_steps)
        return clipped(optimizer, learning_rate, params.max_grad_norm)

    def init(key, params):
        online = init_mlp(key, sizes)
        example = Transition(
            obs=jnp.zeros((obs_size,), jnp.float32),
            action=jnp.zeros((), jnp.int32),
            reward=jnp.zeros((), jnp.float32),
            next_obs=jnp.zeros((obs_size,), jnp.float32),
            terminated=jnp.zeros((), bool),
            truncated=jnp.zeros((), bool),
        )
        zero = jnp.zeros((), jnp.int32)
        return DQNState(
            online=online,
            target=online,
            opt_state=network_optimizer(params).init(online),
            replay=replay.init_replay(example, buffer_size),
            step=zero,
            updates=zero,
        )

    def policy(key, values, step, params):
        return rule(key, Estimates(values, no_counts, step), params.explore)

    def act(key, state, obs, params):
        values = q_values(state.online, obs)
        action, info = policy(key, values, state.step, params)
        return action, {**info, "values": values}

    def bootstrap(state, batch, step, params):
        """``[B]`` ``bootstrap(S')`` of every transition of the minibatch."""
        q_next = over_batch(state.target, batch.next_obs)
        if target == "dqn":
            return jax.vmap(max_backup)(q_next)
        if target == "double_dqn":
            q_next_online = over_batch(state.online, batch.next_obs)
            return jax.vmap(double_backup)(q_next_online, q_next)

        def soft(values):
            # What the rule reports at S' (its action, from a fixed key, unused).
            info = policy(jax.random.key(0), values, step, params)[1]
            if target == "mellowmax_dqn":
                return sm.mellowmax(values, info["omega"])
            return soft_backup(values, info["tau"])

        return jax.vmap(soft)(q_next)

    def loss(online, batch, targets):
        q = over_batch(online, batch.obs)
        q_taken = jnp.take_along_axis(q, batch.action[:, None], axis=-1)[:, 0]
        return jnp.mean(optax.huber_loss(q_taken, targets))

    def train(key, state, buffer, step, params):
        """One optimizer step on a minibatch, then the target update if due."""
        batch = replay.sample(key, buffer, batch_size)
        next_value = bootstrap(state, batch, step, params)
        targets = jax.lax.stop_gradient(
            td_target(batch.reward, batch.terminated, params.discount, next_value)
        )
        grads = jax.grad(loss)(state.online, batch, targets)
        updates, opt_state = network_optimizer(params, step).update(
            grads, state.opt_state, state.online
        )
        online = optax.apply_updates(state.online, updates)
        count = state.updates + 1
        moved = polyak_update(online, state.target, params.target_rate)
        target_net = jax.tree.map(
            lambda m, t: jnp.where(count % target_update == 0, m, t),
            moved,
            state.target,
        )
        return online, target_net, opt_state, count

    def learn(key, state, rollout: Transition, params):
        num_new = rollout.action.size
        if num_new > buffer_size:
            raise ValueError(
                f"buffer_size={buffer_size}: a rollout of {num_new} transitions "
                "must fit; expected buffer_size >= num_envs x rollout_steps."
            )
        flat = jax.tree.map(lambda x: x.reshape(num_new, *x.shape[2:]), rollout)
        buffer = replay.add(state.replay, flat)
        step = state.step + num_new
        due = (step >= learning_starts) & ((step // num_new) % train_every == 0)
        online, target_net, opt_state, count = jax.lax.cond(
            due,
            lambda: train(key, state, buffer, step, params),
            lambda: (state.online, state.target, state.opt_state, state.updates),
        )
        return DQNState(online, target_net, opt_state, buffer, step, count)

    return Agent(
        init=init, act=act, learn=learn, default_params=DQNParams(),
        num_actions=num_actions, per_step=False,
    )  # fmt: skip
