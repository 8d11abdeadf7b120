"""The benchmark tasks: real JAX functions with realistic inputs and their stored LCGs.

``TASKS`` maps each task name (``"RoeFlux_1d"``, ...) to a :class:`Task`. Each task's traced
graph is stored under ``graphs/data/tasks/<name>.json`` (:mod:`graphs.tasks.store`); the tests
check that re-tracing the function reproduces it, and ``python -m graphs.tasks.build``
regenerates the files after a deliberate change (for instance a JAX upgrade that changes jaxprs).

========================  ==============  ===================================================
task                      Gymnasium name  what it computes
========================  ==============  ===================================================
``RoeFlux_1d``            RoeFlux         Roe flux of the 1-D Euler equations
``RoeFlux_3d``            RoeFlux3D       Roe flux of the 3-D Euler equations
``RobotArm_6DOF``         RobotArm        forward kinematics of the UR5 arm
``HumanHeartDipole``      HeartDipole     MINPACK-2 human heart dipole residuals
``PropaneCombustion``     Propane         MINPACK-2 propane combustion residuals
``BlackScholes_Jacobian`` BlackScholes    reverse-mode gradient of a Black-Scholes price
``Perceptron``            Perceptron      loss of a 2-layer MLP with layer norm
``Encoder``               Encoder         loss of two transformer encoder blocks
``f``                     RandomF         a fixed random vector/matrix program
``g``                     RandomG         a fixed random scalar program
========================  ==============  ===================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphs.generators import GENERATOR_VERSION, generator_metadata
from graphs.lcg import LCG
from graphs.tasks import euler, finance, minpack, networks, random_programs, robotics
from graphs.trace import TracedFunction, trace_function

__all__ = ["Task", "TASKS", "get_task"]


@dataclass(frozen=True)
class Task:
    """A benchmark task.

    Attributes:
        name: the task name, e.g. ``"RoeFlux_1d"``.
        env_name: the ``<Task>`` part of its Gymnasium id ``VertexElim-<Task>-v0``.
        function: the JAX function.
        make_args: returns realistic example arguments.
        description: what it computes.
        reference: where its definition comes from.
        metadata: extra JSON-serialisable entries stored in the graph's metadata (the random
            programs store their generator parameters and seed here).
    """

    name: str
    env_name: str
    function: Callable[..., Any]
    make_args: Callable[[], tuple[Any, ...]]
    description: str
    reference: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def trace(self) -> TracedFunction:
        """Trace the function now (with this JAX version)."""
        return trace_function(self.function, *self.make_args(), name=self.name)

    def traced_graph(self) -> LCG:
        """The graph traced now, with the metadata the stored file has (task, env name, ...)."""
        graph = self.trace().lcg
        metadata = {**dict(graph.metadata), "task": self.name, "env_name": self.env_name, **dict(self.metadata)}
        return LCG(graph.vertices, dict(graph.edges), self.name, metadata)

    def graph(self) -> LCG:
        """The stored LCG (``graphs/data/tasks/<name>.json``)."""
        from graphs.tasks.store import load_task_graph

        return load_task_graph(self.name)


_TASK_LIST = (
    Task(
        "RoeFlux_1d",
        "RoeFlux",
        euler.roe_flux_1d,
        euler.roe_flux_1d_args,
        "Roe's approximate Riemann solver flux for the 1-D Euler equations: left/right conserved "
        "states (density, momentum, energy) -> mass, momentum and energy flux.",
        "P. L. Roe, J. Comput. Phys. 43 (1981) 357-372; E. F. Toro, Riemann Solvers and Numerical "
        "Methods for Fluid Dynamics, 3rd ed. (2009), ch. 11.",
    ),
    Task(
        "RoeFlux_3d",
        "RoeFlux3D",
        euler.roe_flux_3d,
        euler.roe_flux_3d_args,
        "Roe flux for the 3-D Euler equations through an oblique cell face: density, momentum "
        "vector (3,) and energy on each side -> mass flux, momentum flux (3,), energy flux.",
        "P. L. Roe (1981); J. Blazek, Computational Fluid Dynamics: Principles and Applications, "
        "3rd ed. (2015), sec. 4.3.3.",
    ),
    Task(
        "RobotArm_6DOF",
        "RobotArm",
        robotics.robot_arm_6dof,
        robotics.robot_arm_6dof_args,
        "Forward kinematics of the 6-joint UR5 arm with 4x4 Denavit-Hartenberg transforms: joint "
        "angles -> end-effector position (3,) and Tait-Bryan roll, pitch, yaw.",
        "J. Denavit, R. S. Hartenberg, J. Appl. Mech. 22 (1955) 215-221; Universal Robots UR5 DH "
        "parameters; Siciliano et al., Robotics: Modelling, Planning and Control (2009).",
    ),
    Task(
        "HumanHeartDipole",
        "HeartDipole",
        minpack.heart_dipole,
        minpack.heart_dipole_args,
        "Residuals of the human heart dipole problem (8 unknowns -> 8 residuals) at the standard "
        "starting point of version DHHD1.",
        "B. M. Averick, R. G. Carter, J. J. More, G.-L. Xue, The MINPACK-2 test problem collection, "
        "ANL MCS-P153-0692 (1992), problem dhhd; Dennis, Gay, Vu, Rice TR 83-16.",
    ),
    Task(
        "PropaneCombustion",
        "Propane",
        minpack.propane_combustion,
        minpack.propane_combustion_args,
        "Residuals of the chemical equilibrium of propane combustion in air, full formulation "
        "(11 unknowns -> 11 residuals) at the standard starting point.",
        "MINPACK-2 test problem collection (1992), problem dcpf; K. Meintjes, A. P. Morgan, ACM "
        "TOMS 16 (1990) 143-151.",
    ),
    Task(
        "BlackScholes_Jacobian",
        "BlackScholes",
        finance.call_price_gradient,
        finance.call_price_gradient_args,
        "The reverse-mode gradient program (jax.grad) of the Black-Scholes-Merton call price: "
        "(S, K, r, q, sigma, T) -> the six first-order Greeks; its Jacobian is the Hessian of the price.",
        "F. Black, M. Scholes, J. Polit. Econ. 81 (1973) 637-654; R. C. Merton, Bell J. Econ. "
        "Manag. Sci. 4 (1973) 141-183; J. C. Hull, Options, Futures, and Other Derivatives.",
    ),
    Task(
        "Perceptron",
        "Perceptron",
        networks.perceptron,
        networks.perceptron_args,
        "Softmax cross-entropy loss of a 2-layer perceptron (16 -> 32 -> 10, tanh, layer norm) on "
        "a batch of 8: inputs, weights, biases and layer-norm parameters -> scalar loss.",
        "Rumelhart, Hinton, Williams, Nature 323 (1986); Ba, Kiros, Hinton, arXiv:1607.06450 (2016).",
    ),
    Task(
        "Encoder",
        "Encoder",
        networks.encoder,
        networks.encoder_args,
        "Mean squared error of two single-head transformer encoder blocks (attention, layer norm, "
        "SiLU feed-forward) on 8 tokens of width 16: embeddings and 24 parameters -> scalar loss.",
        "A. Vaswani et al., Attention is all you need, NeurIPS 2017; Ba et al. (2016); Elfwing et "
        "al., Neural Networks 107 (2018).",
    ),
    Task(
        "f",
        "RandomF",
        random_programs.f,
        random_programs.f_args,
        "A fixed random program of vector and matrix operations: 4 inputs -> 4 outputs, 75 "
        "eliminable vertices.",
        f"graphs.generators (version {GENERATOR_VERSION}), seed {random_programs.F_SEED}; after the "
        "random function f of Lohoff & Neftci, arXiv:2406.05027 (2024).",
        generator_metadata(random_programs.F_PARAMS, random_programs.F_SEED),
    ),
    Task(
        "g",
        "RandomG",
        random_programs.g,
        random_programs.g_args,
        "A fixed random scalar program: 15 inputs -> 20 outputs, 85 eliminable vertices.",
        f"graphs.generators (version {GENERATOR_VERSION}), seed {random_programs.G_SEED}; after the "
        "random function g of Lohoff & Neftci, arXiv:2406.05027 (2024).",
        generator_metadata(random_programs.G_PARAMS, random_programs.G_SEED),
    ),
)

TASKS: dict[str, Task] = {task.name: task for task in _TASK_LIST}
"""Task name -> :class:`Task`."""


def get_task(name: str) -> Task:
    """The task called ``name`` (its task name or its Gymnasium ``<Task>`` name)."""
    for task in TASKS.values():
        if name in (task.name, task.env_name):
            return task
    raise KeyError(f"unknown task {name!r}; available: {sorted(TASKS)}")
