"""Tests of the benchmark tasks: stored graphs match re-tracing, sizes fit the game, and every
function computes what its source defines (checked against independent computations)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from scipy.stats import norm

from elimgym.game import MAX_VERTEX_SIZE
from graphs import io
from graphs.generators import function_from_metadata, program_from_metadata
from graphs.structure import MAX_RANK
from graphs.tasks import TASKS, get_task
from graphs.tasks import euler, finance, minpack, networks, random_programs, robotics
from graphs.tasks.build import graph_difference
from graphs.tasks.store import REGENERATE_COMMAND, load_task_graph
from graphs.trace import trace

ENV_NAMES = {
    "RoeFlux_1d": "RoeFlux",
    "RoeFlux_3d": "RoeFlux3D",
    "RobotArm_6DOF": "RobotArm",
    "HumanHeartDipole": "HeartDipole",
    "PropaneCombustion": "Propane",
    "BlackScholes_Jacobian": "BlackScholes",
    "Perceptron": "Perceptron",
    "Encoder": "Encoder",
    "f": "RandomF",
    "g": "RandomG",
}


# ------------------------------------------------------------------------ registry/store
def test_tasks__registry_has_every_task_with_its_env_name():
    """TASKS holds exactly the ten benchmark tasks with their Gymnasium names."""
    assert {name: task.env_name for name, task in TASKS.items()} == ENV_NAMES
    assert get_task("RoeFlux3D") is TASKS["RoeFlux_3d"]
    with pytest.raises(KeyError, match="unknown task 'nope'"):
        get_task("nope")


@pytest.mark.parametrize("name", sorted(TASKS))
def test_stored_graph__matches_retracing(name):
    """Re-tracing the task with this JAX version reproduces the stored graph (fingerprint and names)."""
    task = TASKS[name]
    stored, traced = task.graph(), task.traced_graph()
    difference = graph_difference(stored, traced)
    assert difference is None, (
        f"task {name}: {difference}. If this change is intended (a task edit or a JAX upgrade that "
        f"changes jaxprs), regenerate the stored graphs with `{REGENERATE_COMMAND}` and the docs with "
        f"`elimgym graphs docs`, and review the diff."
    )
    assert stored.name == name and stored.metadata["task"] == name and stored.metadata["env_name"] == task.env_name


def test_graph_difference__names_a_changed_vertex():
    """graph_difference reports a renamed vertex and a structural change."""
    graph = get_task("Perceptron").graph()
    vertices = list(graph.vertices)
    vertices[0] = type(vertices[0])(vertices[0].role, vertices[0].shape, "renamed")
    renamed = type(graph)(tuple(vertices), dict(graph.edges), graph.name, graph.metadata)
    assert "vertex 0 changed" in graph_difference(graph, renamed)
    assert "structure changed" in graph_difference(graph, get_task("Encoder").graph())


def test_load_task_graph__missing_file_says_how_to_regenerate():
    """Loading a task without a stored file names the regeneration command."""
    with pytest.raises(FileNotFoundError, match="python -m graphs.tasks.build"):
        load_task_graph("NoSuchTask")


@pytest.mark.parametrize("name", sorted(TASKS))
def test_task_graph__fits_the_game_and_round_trips_through_files(name, tmp_path):
    """Every vertex has rank <= 2 and at most MAX_VERTEX_SIZE entries; save/load is exact."""
    graph = TASKS[name].graph()
    assert all(len(v.shape) <= MAX_RANK and v.size <= MAX_VERTEX_SIZE for v in graph.vertices)
    assert graph.intermediates and graph.outputs
    path = tmp_path / f"{name}.json"
    io.save(graph, path)
    assert io.to_dict(io.load(path)) == io.to_dict(graph)


def test_task_sizes__match_the_benchmark_definitions():
    """The sizes the issue asks for: 6 -> 3 Roe flux with ~100 vertices, 8 -> 8, 11 -> 11, f and g."""
    sizes = {name: task.graph() for name, task in TASKS.items()}
    roe = sizes["RoeFlux_1d"]
    assert (len(roe.inputs), len(roe.outputs)) == (6, 3) and 90 <= roe.num_vertices <= 110
    assert (len(sizes["HumanHeartDipole"].inputs), len(sizes["HumanHeartDipole"].outputs)) == (8, 8)
    assert (len(sizes["PropaneCombustion"].inputs), len(sizes["PropaneCombustion"].outputs)) == (11, 11)
    assert (len(sizes["f"].inputs), len(sizes["f"].intermediates), len(sizes["f"].outputs)) == (4, 75, 4)
    assert (len(sizes["g"].inputs), len(sizes["g"].intermediates), len(sizes["g"].outputs)) == (15, 85, 20)
    assert sizes["g"].is_scalar() and not sizes["f"].is_scalar()
    assert any(len(sizes["RoeFlux_3d"].vertices[k].shape) == 1 for k in sizes["RoeFlux_3d"].inputs)


# ---------------------------------------------------------------------------- Roe fluxes
def _euler_flux_1d(rho, u, p):
    E = p / (euler.GAMMA - 1) + 0.5 * rho * u * u
    return np.array([rho * u, rho * u * u + p, u * (E + p)])


def _euler_flux_3d(rho, u, p, n):
    E = p / (euler.GAMMA - 1) + 0.5 * rho * u @ u
    V = u @ n
    return rho * V, rho * u * V + p * n, (E + p) * V


_roe_flux_1d = jax.jit(euler.roe_flux_1d)
_roe_flux_3d = jax.jit(euler.roe_flux_3d)


def _call_1d(left, right):
    args = [jnp.float32(x) for x in (*euler.conserved_1d(*left), *euler.conserved_1d(*right))]
    return np.array([float(v) for v in _roe_flux_1d(*args)])


def _call_3d(left, right, normal=euler.FACE_NORMAL):
    def state(rho, u, p):
        rho, m, E = euler.conserved_3d(rho, np.asarray(u), p)
        return jnp.float32(rho), jnp.asarray(m, jnp.float32), jnp.float32(E)

    mass, momentum, energy = _roe_flux_3d(*state(*left), *state(*right), jnp.asarray(normal, jnp.float32))
    return float(mass), np.asarray(momentum, np.float64), float(energy)


def test_roe_flux_1d__equal_states_give_the_physical_flux():
    """With U_L = U_R the dissipation vanishes: the flux is the Euler flux F(U)."""
    state = (1.2, 0.4, 0.9)
    np.testing.assert_allclose(_call_1d(state, state), _euler_flux_1d(*state), rtol=1e-5)


def test_roe_flux_1d__supersonic_flow_upwinds_the_left_state():
    """When every Roe eigenvalue is positive, Roe's flux is exactly F(U_L)."""
    left, right = (1.0, 3.0, 1.0), (0.8, 2.8, 0.9)
    np.testing.assert_allclose(_call_1d(left, right), _euler_flux_1d(*left), rtol=1e-5)


def test_roe_flux_3d__equal_and_supersonic_states():
    """3-D: equal states give the physical flux; supersonic flow along n gives F(U_L)."""
    n = np.asarray(euler.FACE_NORMAL, np.float64)
    state = (0.9, np.array([0.3, -0.2, 0.5]), 1.1)
    for got, expected in zip(_call_3d(state, state), _euler_flux_3d(*state, n)):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    tangent = np.array([3.0, -2.0, 0.0]) / np.sqrt(13.0)
    left = (1.0, 3.0 * n + 0.4 * tangent, 1.0)
    right = (0.8, 2.8 * n - 0.2 * tangent, 0.9)
    for got, expected in zip(_call_3d(left, right), _euler_flux_3d(*left, n)):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_roe_flux_3d__reduces_to_1d_and_is_antisymmetric():
    """With n = e_x and no transverse velocity the 3-D flux is the 1-D one; F(L, R; n) = -F(R, L; -n)."""
    left, right = (1.0, 0.75, 1.0), (0.125, 0.0, 0.1)
    e_x = np.array([1.0, 0.0, 0.0], np.float32)
    mass, momentum, energy = _call_3d((left[0], [left[1], 0, 0], left[2]), (right[0], [right[1], 0, 0], right[2]), e_x)
    np.testing.assert_allclose([mass, momentum[0], energy], _call_1d(left, right), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(momentum[1:], 0.0, atol=1e-6)
    a, b = (1.0, [0.75, 0.2, -0.1], 1.0), (0.125, [0.1, 0.0, 0.05], 0.1)
    forward = _call_3d(a, b)
    backward = _call_3d(b, a, -euler.FACE_NORMAL)
    for x, y in zip(forward, backward):
        np.testing.assert_allclose(x, -np.asarray(y), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- robot arm
_robot_arm = jax.jit(robotics.robot_arm_6dof)


def test_robot_arm__zero_angles_give_the_ur5_home_pose():
    """At zero joint angles the UR5 flange is at (a2 + a3, -(d4 + d6), d1 - d5) = (-0.81725,
    -0.19145, -0.005491) m, rotated by +90 degrees about x (roll pi/2, pitch 0, yaw 0)."""
    position, roll, pitch, yaw = _robot_arm(*[jnp.float32(0.0)] * 6)
    np.testing.assert_allclose(position, [-0.81725, -0.19145, -0.005491], atol=1e-6)
    np.testing.assert_allclose([roll, pitch, yaw], [np.pi / 2, 0.0, 0.0], atol=1e-6)


def _dh(theta, d, a, alpha):
    ct, st, ca, sa = np.cos(theta), np.sin(theta), np.cos(alpha), np.sin(alpha)
    return np.array([[ct, -st * ca, st * sa, a * ct], [st, ct * ca, -ct * sa, a * st], [0, sa, ca, d], [0, 0, 0, 1]])


def test_robot_arm__matches_an_independent_dh_chain_and_scipy_euler_angles():
    """Random poses: position from a float64 product of DH matrices, angles from scipy's ZYX Euler angles."""
    rng = np.random.default_rng(3)
    for _ in range(3):
        thetas = rng.uniform(-1.2, 1.2, 6)
        pose = np.eye(4)
        for theta, (d, a, alpha) in zip(thetas, robotics.UR5_DH):
            pose = pose @ _dh(theta, d, a, alpha)
        yaw, pitch, roll = Rotation.from_matrix(pose[:3, :3]).as_euler("ZYX")
        position, *angles = _robot_arm(*[jnp.float32(t) for t in thetas])
        np.testing.assert_allclose(position, pose[:3, 3], atol=2e-6)
        np.testing.assert_allclose(angles, [roll, pitch, yaw], atol=2e-5)


# ------------------------------------------------------------------------------ MINPACK-2
def _values_and_jacobian(f, args):
    """``f(*args)`` stacked, and its Jacobian by forward mode (one compilation per function)."""
    return _compiled_values_and_jacobian(f)(jnp.stack(args))


@functools.lru_cache(maxsize=None)
def _compiled_values_and_jacobian(f):
    def stacked(x):
        return jnp.stack(f(*x))

    return jax.jit(lambda x: (stacked(x), jax.jacfwd(stacked)(x)))


def _heart_jacobian(a, b, c, d, t, u, v, w):
    """The analytic Jacobian of the heart dipole residuals, derived by hand."""
    tt, vv, uu, ww = t * t, v * v, u * u, w * w
    return np.array(
        [
            [1, 1, 0, 0, 0, 0, 0, 0],
            [0, 0, 1, 1, 0, 0, 0, 0],
            [t, u, -v, -w, a, b, -c, -d],
            [v, w, t, u, c, d, a, b],
            [tt - vv, uu - ww, -2 * t * v, -2 * u * w, 2 * (a * t - c * v), 2 * (b * u - d * w), -2 * (a * v + c * t), -2 * (b * w + d * u)],
            [2 * t * v, 2 * u * w, tt - vv, uu - ww, 2 * (c * t + a * v), 2 * (d * u + b * w), 2 * (a * t - c * v), 2 * (b * u - d * w)],
            [
                t * (tt - 3 * vv), u * (uu - 3 * ww), v * (vv - 3 * tt), w * (ww - 3 * uu),
                3 * a * (tt - vv) - 6 * c * t * v, 3 * b * (uu - ww) - 6 * d * u * w,
                -6 * a * t * v - 3 * c * (tt - vv), -6 * b * u * w - 3 * d * (uu - ww),
            ],
            [
                -v * (vv - 3 * tt), -w * (ww - 3 * uu), t * (tt - 3 * vv), u * (uu - 3 * ww),
                3 * c * (tt - vv) + 6 * a * t * v, 3 * d * (uu - ww) + 6 * b * u * w,
                3 * a * (tt - vv) - 6 * c * t * v, 3 * b * (uu - ww) - 6 * d * u * w,
            ],
        ]
    )


def test_heart_dipole__residuals_and_jacobian_at_the_standard_start():
    """Residuals equal the expanded MINPACK-2 formulas; the Jacobian equals the analytic one."""
    a, b, c, d, t, u, v, w = np.array(minpack.HEART_DIPOLE_START, np.float64)
    s = minpack.HEART_DIPOLE_SIGMA
    expected = [
        a + b - s[0],
        c + d - s[1],
        t * a + u * b - v * c - w * d - s[2],
        v * a + w * b + t * c + u * d - s[3],
        a * (t**2 - v**2) - 2 * c * t * v + b * (u**2 - w**2) - 2 * d * u * w - s[4],
        c * (t**2 - v**2) + 2 * a * t * v + d * (u**2 - w**2) + 2 * b * u * w - s[5],
        a * t * (t**2 - 3 * v**2) + c * v * (v**2 - 3 * t**2) + b * u * (u**2 - 3 * w**2) + d * w * (w**2 - 3 * u**2) - s[6],
        c * t * (t**2 - 3 * v**2) - a * v * (v**2 - 3 * t**2) + d * u * (u**2 - 3 * w**2) - b * w * (w**2 - 3 * u**2) - s[7],
    ]
    values, jacobian = _values_and_jacobian(minpack.heart_dipole, minpack.heart_dipole_args())
    np.testing.assert_allclose(values, expected, atol=1e-6)
    np.testing.assert_allclose(jacobian, _heart_jacobian(a, b, c, d, t, u, v, w), rtol=1e-5, atol=1e-6)


def test_heart_dipole__all_zero_point_gives_minus_sigma():
    """At x = 0 every residual is minus its measured sum."""
    values, _ = _values_and_jacobian(minpack.heart_dipole, [jnp.float32(0.0)] * 8)
    np.testing.assert_allclose(values, -np.array(minpack.HEART_DIPOLE_SIGMA), atol=1e-7)


def _propane_jacobian(x):
    k5, k6, k7, k8, k9, k10 = minpack.PROPANE_K
    x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11 = x
    P = minpack.PROPANE_PRESSURE / x11
    r = np.sqrt(P)
    J = np.zeros((11, 11))
    J[0, [0, 3]] = 1
    J[1, :10] = [2, 1, 0, 1, 0, 0, 1, 1, 1, 2]
    J[2, [1, 4, 5, 6]] = [2, 2, 1, 1]
    J[3, [2, 8]] = [2, 1]
    J[4, [0, 1, 3, 4]] = [-x5, k5 * x4, k5 * x2, -x1]
    J[5, [0, 1, 3, 5, 10]] = [
        -x6 * r / (2 * np.sqrt(x1)), k6 * x4 / (2 * np.sqrt(x2 * x4)), k6 * x2 / (2 * np.sqrt(x2 * x4)),
        -np.sqrt(x1) * r, np.sqrt(x1) * x6 * r / (2 * x11),
    ]
    J[6, [0, 1, 3, 6, 10]] = [
        k7 * x2 / (2 * np.sqrt(x1 * x2)), k7 * x1 / (2 * np.sqrt(x1 * x2)), -x7 * r / (2 * np.sqrt(x4)),
        -np.sqrt(x4) * r, np.sqrt(x4) * x7 * r / (2 * x11),
    ]
    J[7, [0, 3, 7, 10]] = [k8, -x8 * P, -x4 * P, x4 * x8 * P / x11]
    J[8, [0, 2, 3, 8, 10]] = [k9 * np.sqrt(x3), k9 * x1 / (2 * np.sqrt(x3)), -x9 * r, -x4 * r, x4 * x9 * r / (2 * x11)]
    J[9, [0, 3, 9, 10]] = [2 * k10 * x1, -2 * x4 * x10 * P, -x4 * x4 * P, x4 * x4 * x10 * P / x11]
    J[10, :10] = -1
    J[10, 10] = 1
    return J


def test_propane__start_point_residuals_and_jacobian():
    """The standard start has the documented entries; residuals and Jacobian match hand-derived formulas."""
    x = np.array(minpack.propane_start())
    assert x[4] == pytest.approx(0.05 * 0.193) and x[10] == 20.0 and x[3] == 0.1
    k5, k6, k7, k8, k9, k10 = minpack.PROPANE_K
    x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11 = x
    P = 40.0 / x11
    expected = [
        x1 + x4 - 3, 2 * x1 + x2 + x4 + x7 + x8 + x9 + 2 * x10 - 10, 2 * x2 + 2 * x5 + x6 + x7 - 8, 2 * x3 + x9 - 40,
        k5 * x2 * x4 - x1 * x5, k6 * np.sqrt(x2 * x4) - np.sqrt(x1 * P) * x6, k7 * np.sqrt(x1 * x2) - np.sqrt(x4 * P) * x7,
        k8 * x1 - x4 * x8 * P, k9 * x1 * np.sqrt(x3) - x4 * x9 * np.sqrt(P), k10 * x1**2 - x4**2 * x10 * P, x11 - x[:10].sum(),
    ]
    values, jacobian = _values_and_jacobian(minpack.propane_combustion, minpack.propane_combustion_args())
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jacobian, _propane_jacobian(x), rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- Black-Scholes
def _closed_form_delta(S, K, r, q, sigma, T):
    d1 = (np.log(S / K) + (r - q + sigma**2 / 2) * T) / (sigma * np.sqrt(T))
    return np.exp(-q * T) * norm.cdf(d1)


def test_black_scholes__gradient_program_gives_the_closed_form_greeks():
    """The gradient program gives the textbook Greeks with dividends; its Jacobian is the Hessian."""
    args = finance.call_price_gradient_args()
    S, K, r, q, sigma, T = (float(a) for a in args)
    d1 = (np.log(S / K) + (r - q + sigma**2 / 2) * T) / (sigma * np.sqrt(T))
    d2 = d1 - sigma * np.sqrt(T)
    greeks = [
        np.exp(-q * T) * norm.cdf(d1),
        -np.exp(-r * T) * norm.cdf(d2),
        K * T * np.exp(-r * T) * norm.cdf(d2),
        -S * T * np.exp(-q * T) * norm.cdf(d1),
        S * np.exp(-q * T) * norm.pdf(d1) * np.sqrt(T),
        S * np.exp(-q * T) * norm.pdf(d1) * sigma / (2 * np.sqrt(T)) - q * S * np.exp(-q * T) * norm.cdf(d1) + r * K * np.exp(-r * T) * norm.cdf(d2),
    ]
    gradient, jacobian = _values_and_jacobian(finance.call_price_gradient, args)
    np.testing.assert_allclose(gradient, greeks, rtol=2e-4)
    # Its Jacobian is the price's Hessian: symmetric, with gamma at (S, S) and vanna at (S, sigma).
    np.testing.assert_allclose(jacobian, jacobian.T, rtol=1e-3, atol=1e-3)
    gamma = np.exp(-q * T) * norm.pdf(d1) / (S * sigma * np.sqrt(T))
    vanna = -np.exp(-q * T) * norm.pdf(d1) * d2 / sigma
    assert jacobian[0, 0] == pytest.approx(gamma, rel=1e-3)
    assert jacobian[0, 4] == pytest.approx(vanna, rel=1e-3) and jacobian[4, 0] == pytest.approx(vanna, rel=1e-3)
    # A central difference of the closed-form delta in S agrees too.
    h = 1e-3 * S
    up, down = _closed_form_delta(S + h, K, r, q, sigma, T), _closed_form_delta(S - h, K, r, q, sigma, T)
    assert jacobian[0, 0] == pytest.approx((up - down) / (2 * h), rel=1e-3)


# ------------------------------------------------------------------------------ networks
def _layer_norm(x, scale, bias):
    mean = x.mean(axis=1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(var + networks.LAYER_NORM_EPS) * scale + bias


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_perceptron__loss_matches_a_numpy_implementation():
    """The loss equals a float64 NumPy forward pass with the same labels."""
    x, W1, b1, scale, bias, W2, b2 = (np.asarray(a, np.float64) for a in networks.perceptron_args())
    logits = np.tanh(_layer_norm(x @ W1 + b1, scale, bias)) @ W2 + b2
    loss = -np.mean(np.sum(networks.PERCEPTRON_LABELS * np.log(_softmax(logits)), axis=1))
    assert float(jax.jit(networks.perceptron)(*networks.perceptron_args())) == pytest.approx(loss, rel=1e-5)


def test_encoder__loss_matches_a_numpy_implementation():
    """The loss equals a float64 NumPy pass through both encoder blocks."""
    x, blocks = networks.encoder_args()
    h = np.asarray(x, np.float64)
    for block in blocks:
        p = {k: np.asarray(v, np.float64) for k, v in block.items()}
        attention = _softmax((h @ p["wq"]) @ (h @ p["wk"]).T / np.sqrt(h.shape[1]))
        y = _layer_norm(h + attention @ (h @ p["wv"]) @ p["wo"], p["ln1_scale"], p["ln1_bias"])
        pre = y @ p["w1"] + p["b1"]
        h = _layer_norm(y + (pre / (1 + np.exp(-pre))) @ p["w2"] + p["b2"], p["ln2_scale"], p["ln2_bias"])
    expected = np.mean((h - networks.ENCODER_TARGET) ** 2)
    assert float(jax.jit(networks.encoder)(x, blocks)) == pytest.approx(expected, rel=1e-4)


# ------------------------------------------------------------------------ random programs
@pytest.mark.parametrize("name", ["f", "g"])
def test_random_task__function_is_rebuilt_from_the_stored_metadata(name):
    """The stored graph's metadata rebuilds the task's program and arguments, and its graph."""
    task = TASKS[name]
    stored = task.graph()
    program = program_from_metadata(stored.metadata)
    expected = random_programs._program(name)
    assert (program.input_shapes, program.ops, program.outputs) == (expected.input_shapes, expected.ops, expected.outputs)
    for ours, theirs in zip(program.args, task.make_args()):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    f, args = function_from_metadata(stored.metadata)
    assert trace(f, *args).fingerprint() == stored.fingerprint()
