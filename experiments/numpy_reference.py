"""Independent, fully vectorised NumPy reference for the Sutton & Barto ch. 2 bandits.

Pure NumPy (no JAX), written independently of :mod:`rl_softmax`, for two jobs:

1. a benchmark baseline for the JAX sweep engine: all runs advance as one
   ``[num_runs, num_arms]`` batch and Python loops over steps only;
2. a statistical reference: tests compare the JAX curves with these, and
   ``tests/test_numpy_reference.py`` checks these against the published figures.

The testbed is Sutton & Barto (2018), Sec. 2.3: per run, ``q*(a) ~ N(mean, std)``
and ``R ~ N(q*(A), noise_std)``. Rules: Boltzmann / softmax (1st ed., Sec. 2.3),
greedy and epsilon-greedy (Sec. 2.3), UCB (Sec. 2.7), Boltzmann-Gumbel exploration
(Cesa-Bianchi et al. 2017) and the gradient bandit (Sec. 2.8); action-value rules
use sample averages or a constant step size (Sec. 2.4-2.5) from ``initial_value``
(optimistic initial values, Sec. 2.6).

Randomness: ``SeedSequence(seed)`` is split into four independent streams, each a
``np.random.Generator(PCG64(...))``: task means ``q*``, action uniforms, reward
noise and Gumbel noise. So for one seed every rule faces the same tasks and the
same reward noise (common random numbers), and results do not depend on how the
draws are chunked. Every sampled action uses ONE uniform per run per step, by
inverse CDF over the exact action distribution (ties split evenly), which also
gives epsilon-greedy its mixture and greedy/UCB their random tie-breaking.

Run ``python experiments/numpy_reference.py`` for quick numbers; ``rl-softmax bench
--only bandit`` times it against the JAX sweep.
"""

from __future__ import annotations

import argparse

import numpy as np

__all__ = ["METRICS", "RULES", "run_bandit"]

RULES = (
    "boltzmann",
    "greedy",
    "epsilon_greedy",
    "ucb",
    "boltzmann_gumbel",
    "gradient_bandit",
)
METRICS = ("reward", "optimal", "regret", "entropy", "prob_optimal")

# Draw uniforms and reward noise in blocks of about this many numbers.
_CHUNK_NUMBERS = 1 << 20


class _BatchOps:
    """Sampling and softmax over arm-major ``[num_arms, num_runs]`` batches.

    Arrays are arm-major because NumPy reduces and accumulates over a short leading
    axis with whole-row vector operations, several times faster than over a short
    trailing axis. Buffers are preallocated and reused every step. Softmax weights,
    probabilities and their CDF are float32 (JAX's default precision; NumPy's float32
    ``exp`` is SIMD-vectorised and ~4x faster than float64 here); the learned state
    (``Q``, ``N``, ``H``, ``Rbar``) stays float64.
    """

    def __init__(self, num_arms: int, num_runs: int, flat_opt: np.ndarray) -> None:
        self.num_arms = num_arms
        self.flat_opt = flat_opt  # optimal arm's flat index per run
        shape = (num_arms, num_runs)
        self.cdf = {
            np.dtype(np.float32): np.empty(shape, np.float32),
            np.dtype(np.float64): np.empty(shape, np.float64),
        }
        self.logits = np.empty(shape)
        self.logits32 = np.empty(shape, np.float32)
        self.weights = np.empty(shape, np.float32)
        self.probs = np.empty(shape, np.float32)
        # Counting "cdf <= threshold" in the narrowest integer type is fastest.
        if num_arms < np.iinfo(np.uint8).max:
            self.count_dtype = np.uint8
        elif num_arms < np.iinfo(np.uint16).max:
            self.count_dtype = np.uint16
        else:
            self.count_dtype = np.int64

    def sample(
        self, weights: np.ndarray, u: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Inverse-CDF draw from unnormalised ``weights: [num_arms, num_runs]``.

        ``A = #{a : cdf[a] <= u * cdf[-1]}`` with one uniform ``u: [num_runs]`` per
        run, so zero-weight arms are never drawn. If ``u * total`` rounds up to
        ``total`` the draw falls back to the last positive-weight arm rather than the
        last arm.

        Args:
          weights: ``[num_arms, num_runs]`` float32 or float64, >= 0, positive sum.
          u: ``[num_runs]`` uniforms in ``[0, 1)``.

        Returns:
          ``(actions, total)``: ``[num_runs]`` int64 actions and the weight sums
          (a view of a buffer reused by the next call).
        """
        cdf = self.cdf[weights.dtype]
        if self.num_arms <= 64:
            # A Python loop over a few arms beats np.cumsum along axis 0.
            cdf[0] = weights[0]
            for arm in range(1, self.num_arms):
                np.add(cdf[arm - 1], weights[arm], out=cdf[arm])
        else:
            np.cumsum(weights, axis=0, out=cdf)
        total = cdf[-1]
        threshold = (u * total).astype(cdf.dtype, copy=False)
        below = (cdf <= threshold).view(np.uint8)
        actions = np.add.reduce(below, axis=0, dtype=self.count_dtype).astype(np.int64)
        overflow = actions >= self.num_arms
        if overflow.any():
            positive = weights[::-1, overflow] > 0
            actions[overflow] = self.num_arms - 1 - np.argmax(positive, axis=0)
        return actions, total

    def softmax_sample(
        self, values: np.ndarray, inverse_tau: float, u: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Samples from ``softmax(values * inverse_tau)`` (max subtracted).

        Returns:
          ``(actions, probs, entropy, prob_optimal)``; ``probs`` is a reused buffer.
          Entropy in nats is ``log Z - sum_a pi(a) z(a)`` with ``z = logits - max``.
        """
        logits, z, weights, probs = self.logits, self.logits32, self.weights, self.probs
        np.multiply(values, inverse_tau, out=logits)
        np.subtract(logits, logits.max(axis=0), out=z)
        np.exp(z, out=weights)
        actions, total = self.sample(weights, u)
        np.multiply(weights, 1.0 / total, out=probs)
        entropy = np.log(total) - np.einsum("ij,ij->j", probs, z)
        prob_optimal = probs.ravel()[self.flat_opt]
        return actions, probs, entropy, prob_optimal

    def argmax_sample(
        self, scores: np.ndarray, u: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Argmax of ``scores`` with ties split evenly, one uniform per run.

        Returns:
          ``(actions, num_ties, prob_optimal)``, each ``[num_runs]``.
        """
        np.equal(scores, scores.max(axis=0), out=self.weights, casting="unsafe")
        actions, num_ties = self.sample(self.weights, u)
        prob_optimal = self.weights.ravel()[self.flat_opt] / num_ties
        return actions, num_ties, prob_optimal


def _validate(
    rule: str,
    param: float,
    num_runs: int,
    num_steps: int,
    num_arms: int,
    step_size: float | None,
    q_star_std: float,
    noise_std: float,
) -> None:
    """Raises ``ValueError`` naming the offending field."""
    if rule not in RULES:
        raise ValueError(f"rule={rule!r}; allowed: {', '.join(RULES)}")
    for name, value in (
        ("num_runs", num_runs),
        ("num_steps", num_steps),
        ("num_arms", num_arms),
    ):
        if int(value) != value or value < 1:
            raise ValueError(f"{name}={value!r}; must be a positive integer")
    finite_ok = np.isfinite(param) or (rule == "boltzmann" and param == np.inf)
    if rule != "greedy" and not (finite_ok and param >= 0):
        raise ValueError(f"param={param!r} for rule {rule!r}; must be finite and >= 0")
    if rule == "boltzmann" and param > 0 and not np.isfinite(1.0 / param):
        raise ValueError(f"param={param!r} (tau); 1 / tau overflows, use tau = 0")
    if rule == "epsilon_greedy" and param > 1:
        raise ValueError(f"param={param!r} (epsilon); must be in [0, 1]")
    if step_size is not None and not step_size > 0:
        raise ValueError(f"step_size={step_size!r}; must be None or > 0")
    if not q_star_std >= 0:
        raise ValueError(f"q_star_std={q_star_std!r}; must be >= 0")
    if not noise_std >= 0:
        raise ValueError(f"noise_std={noise_std!r}; must be >= 0")


def run_bandit(
    rule: str,
    param: float,
    *,
    num_runs: int = 2000,
    num_steps: int = 1000,
    num_arms: int = 10,
    step_size: float | None = None,
    initial_value: float = 0.0,
    q_star_mean: float = 0.0,
    q_star_std: float = 1.0,
    noise_std: float = 1.0,
    baseline: bool = True,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Runs ``num_runs`` independent bandit tasks as one batch for ``num_steps`` steps.

    At each step ``t = 1..num_steps`` the rule turns the current estimates into an
    action distribution (or scores), draws ``A``, observes
    ``R = q*(A) + noise_std * N(0, 1)`` and updates (Sutton & Barto 2018, Sec. 2.3).

    Rules and what ``param`` means:

    * ``"boltzmann"``: ``pi = softmax(Q / tau)``, ``param = tau``; ``tau == 0`` is
      greedy with ties split evenly, ``tau == inf`` uniform (Sutton & Barto 1998,
      Sec. 2.3).
    * ``"greedy"``: argmax ``Q``, ties uniformly at random; ``param`` ignored.
    * ``"epsilon_greedy"``: ``pi = (1 - eps) * greedy_ties + eps / K``,
      ``param = eps`` (Sec. 2.3); sampled from that mixture with one uniform,
      which is the same distribution as "explore with probability eps".
    * ``"ucb"``: argmax ``Q(a) + c sqrt(ln t / N(a))``, ``param = c``; arms with
      ``N(a) = 0`` are maximal; ties uniformly at random (Sec. 2.7).
    * ``"boltzmann_gumbel"``: uniformly among untried arms while any remain, then
      argmax ``Q(a) + beta_a Z_a`` with ``Z_a ~ Gumbel(0, 1)`` and
      ``beta_a = C / sqrt(N(a))``, ``param = C`` (Cesa-Bianchi et al. 2017).
    * ``"gradient_bandit"``: ``pi = softmax(H)``, ``H = 0`` initially,
      ``param = alpha`` (Sec. 2.8). The baseline ``Rbar`` is the running mean of the
      rewards INCLUDING the current one,
      ``Rbar_t = Rbar_{t-1} + (R_t - Rbar_{t-1}) / t``, updated before the
      preference update, as in the widely used public
      reproduction (ShangtongZhang/reinforcement-learning-an-introduction);
      ``baseline=False`` uses ``Rbar = 0``. Then
      ``H(a) += alpha (R - Rbar) (1[a = A] - pi(a))``.

    Action-value rules update ``N(A) += 1`` and
    ``Q(A) += (R - Q(A)) * (1 / N(A) if step_size is None else step_size)`` with
    ``Q`` initialised to ``initial_value`` (Sec. 2.4-2.6).

    Args:
      rule: one of :data:`RULES`.
      param: ``tau``, ``epsilon``, ``c``, ``C`` or ``alpha`` as above; ignored for
        ``"greedy"``.
      num_runs: independent tasks, advanced together as a batch.
      num_steps: steps per run.
      num_arms: arms ``K``.
      step_size: ``None`` for sample averages ``1 / N(A)``, else a constant
        ``alpha`` (action-value rules only).
      initial_value: ``Q0`` for every arm (action-value rules only).
      q_star_mean: mean of the per-run arm values ``q*(a)``.
      q_star_std: standard deviation of ``q*(a)``.
      noise_std: standard deviation of the reward noise.
      baseline: gradient bandit only; ``False`` sets ``Rbar = 0``.
      seed: seeds a ``SeedSequence`` split into independent PCG64 streams for
        ``q*``, action uniforms, reward noise and Gumbel noise.

    Returns:
      Dict of float32 arrays, each ``[num_runs, num_steps]``:

      * ``"reward"``: ``R_t``.
      * ``"optimal"``: 1.0 if ``A_t = argmax_a q*(a)``.
      * ``"regret"``: ``max_a q*(a) - q*(A_t)``.
      * ``"entropy"``: entropy in nats of the action distribution used at step
        ``t`` (``log(#ties)`` for greedy/UCB); NaN for ``"boltzmann_gumbel"``.
      * ``"prob_optimal"``: probability that distribution gave the optimal arm;
        NaN for ``"boltzmann_gumbel"``.

    Raises:
      ValueError: on an unknown rule or an out-of-range field.
    """
    _validate(
        rule, param, num_runs, num_steps, num_arms, step_size, q_star_std, noise_std
    )
    num_runs, num_steps, num_arms = int(num_runs), int(num_steps), int(num_arms)
    q_seq, action_seq, noise_seq, gumbel_seq = np.random.SeedSequence(seed).spawn(4)
    action_rng = np.random.Generator(np.random.PCG64(action_seq))
    noise_rng = np.random.Generator(np.random.PCG64(noise_seq))
    gumbel_rng = np.random.Generator(np.random.PCG64(gumbel_seq))
    q_star = np.random.Generator(np.random.PCG64(q_seq)).normal(
        q_star_mean, q_star_std, size=(num_runs, num_arms)
    )

    # Arm-major [num_arms, num_runs] state; flat index of (arm, run) = arm * R + run.
    q_star = np.ascontiguousarray(q_star.T)
    q_star_flat = q_star.ravel()
    runs = np.arange(num_runs)
    optimal_arm = np.argmax(q_star, axis=0)
    ops = _BatchOps(num_arms, num_runs, optimal_arm * num_runs + runs)

    # Step-major outputs: each step writes one contiguous row.
    actions_out = np.empty((num_steps, num_runs), dtype=np.int64)
    reward_out = np.empty((num_steps, num_runs), dtype=np.float32)
    entropy_out = np.full((num_steps, num_runs), np.nan, dtype=np.float32)
    prob_opt_out = np.full((num_steps, num_runs), np.nan, dtype=np.float32)

    is_gradient = rule == "gradient_bandit"
    values = np.full((num_arms, num_runs), 0.0 if is_gradient else initial_value)
    values_flat = values.ravel()  # Q for action-value rules, H for gradient bandit
    counts = np.zeros((num_arms, num_runs))
    counts_flat = counts.ravel()
    mean_reward = np.zeros(num_runs)
    param = float(param)

    chunk = max(1, min(num_steps, _CHUNK_NUMBERS // num_runs))
    for start in range(0, num_steps, chunk):
        stop = min(num_steps, start + chunk)
        uniforms = action_rng.random((stop - start, num_runs))
        noises = noise_rng.standard_normal((stop - start, num_runs))
        noises *= noise_std
        for step in range(start, stop):  # 0-based; the book's t is step + 1
            u = uniforms[step - start]
            entropy = prob_opt = None
            if is_gradient:
                actions, probs, entropy, prob_opt = ops.softmax_sample(values, 1.0, u)
            elif rule == "boltzmann" and param > 0:
                actions, _, entropy, prob_opt = ops.softmax_sample(
                    values, 1.0 / param, u
                )
            elif rule in ("boltzmann", "greedy"):
                actions, num_ties, prob_opt = ops.argmax_sample(values, u)
                entropy = np.log(num_ties)
            elif rule == "epsilon_greedy":
                mask = values == values.max(axis=0)
                num_ties = np.count_nonzero(mask, axis=0)
                prob_tied = (1.0 - param) / num_ties + param / num_arms
                probs = np.where(mask, prob_tied, param / num_arms)
                actions, _ = ops.sample(probs, u)
                # Closed form over the two probability levels; 0 log 0 = 0.
                prob_other = param / num_arms
                entropy = -num_ties * prob_tied * np.log(prob_tied)
                if prob_other > 0:
                    entropy -= (num_arms - num_ties) * prob_other * np.log(prob_other)
                prob_opt = probs.ravel()[ops.flat_opt]
            elif rule == "ucb":
                log_t = np.log(step + 1)
                bonus = np.sqrt(log_t / np.maximum(counts, 1.0))
                scores = np.where(counts > 0, values + param * bonus, np.inf)
                actions, num_ties, prob_opt = ops.argmax_sample(scores, u)
                entropy = np.log(num_ties)
            else:  # boltzmann_gumbel
                untried = counts == 0
                has_untried = untried.any(axis=0)
                if has_untried.all():
                    actions, _ = ops.sample(untried.astype(np.float32), u)
                else:
                    gumbel = gumbel_rng.gumbel(size=(num_arms, num_runs))
                    beta = param / np.sqrt(np.maximum(counts, 1.0))
                    actions = np.argmax(values + beta * gumbel, axis=0)
                    if has_untried.any():
                        explore, _ = ops.sample(untried.astype(np.float32), u)
                        actions = np.where(has_untried, explore, actions)

            flat_actions = actions * num_runs + runs
            rewards = q_star_flat[flat_actions] + noises[step - start]

            if is_gradient:
                if baseline:
                    mean_reward += (rewards - mean_reward) / (step + 1)
                advantage = param * (rewards - mean_reward)
                values -= advantage * probs
                values_flat[flat_actions] += advantage
            else:
                counts_flat[flat_actions] += 1.0
                q_taken = values_flat[flat_actions]
                rate = (
                    1.0 / counts_flat[flat_actions] if step_size is None else step_size
                )
                values_flat[flat_actions] = q_taken + (rewards - q_taken) * rate

            actions_out[step] = actions
            reward_out[step] = rewards
            if entropy is not None:
                entropy_out[step] = entropy
                prob_opt_out[step] = prob_opt

    optimal = actions_out == optimal_arm
    regret = q_star.max(axis=0) - q_star_flat[actions_out * num_runs + runs]
    step_major = (reward_out, optimal, regret, entropy_out, prob_opt_out)
    return {
        name: np.ascontiguousarray(array.T, dtype=np.float32)
        for name, array in zip(METRICS, step_major, strict=True)
    }


def flagship(path: str, config: str, final_steps: int = 100) -> None:
    """The flagship tau sweep of ``config`` (a TOML file), written as a CSV.

    One row per tau: mean reward over all steps, % optimal action and entropy over
    the last ``final_steps`` steps, means over runs. The whole job of the
    ``rl-softmax run`` command but the plots, as the baseline of the bandit
    suite's end-to-end rows (``rl-softmax bench --only bandit``).
    """
    import csv
    import tomllib

    with open(config, "rb") as f:
        raw = tomllib.load(f)
    study = raw["studies"][0]
    low, high = study["log2_range"]
    taus = list(2.0 ** np.linspace(low, high, study["num_values"]))
    taus += [float(v) for v in study.get("references", {}).values()]
    sizes = {"num_runs": raw["num_seeds"], "num_steps": raw["num_steps"]}
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["tau", "reward", "optimal_final", "entropy_final"])
        for tau in taus:
            out = run_bandit("boltzmann", tau, seed=raw.get("seed", 0), **sizes)
            final = slice(-final_steps, None)
            writer.writerow(
                [tau, out["reward"].mean(), out["optimal"][:, final].mean(),
                 out["entropy"][:, final].mean()]
            )  # fmt: skip


def _main() -> None:
    """Prints a few quick numbers (``rl-softmax bench`` does the timing)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-runs", type=int, default=2000)
    parser.add_argument("--num-steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--flagship", nargs=2, metavar=("CONFIG", "CSV"),
        help="run the tau sweep of CONFIG and write its means to CSV, nothing else",
    )  # fmt: skip
    args = parser.parse_args()
    if args.flagship:
        flagship(args.flagship[1], args.flagship[0])
        return
    sizes = {"num_runs": args.num_runs, "num_steps": args.num_steps, "seed": args.seed}
    last = max(1, args.num_steps // 10)

    cases = [
        ("greedy", 0.0, {}),
        ("epsilon_greedy", 0.1, {}),
        ("epsilon_greedy", 1 / 16, {}),
        ("ucb", 1.0, {}),
        ("greedy", 0.0, {"initial_value": 1.0, "step_size": 0.1}),
        ("gradient_bandit", 0.25, {}),
        ("gradient_bandit", 0.1, {"q_star_mean": 4.0}),
        ("boltzmann", 0.1, {}),
        ("boltzmann_gumbel", 1.0, {}),
    ]
    print(f"{'rule':<18}{'param':>7}  {'options':<36}{'avg R':>7}{'%opt end':>10}")
    for rule, param, options in cases:
        out = run_bandit(rule, param, **sizes, **options)
        opt_end = 100 * out["optimal"][:, -last:].mean()
        text = ", ".join(f"{k}={v}" for k, v in options.items())
        print(
            f"{rule:<18}{param:>7.4g}  {text:<36}"
            f"{out['reward'].mean():>7.3f}{opt_end:>9.1f}%"
        )


if __name__ == "__main__":
    _main()
