"""The data of the variance studies: scikit-learn's 8x8 digits (shipped with the package, never
downloaded), as flat vectors, images or row sequences."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FORMATS", "Digits", "as_flat", "as_images", "as_sequences", "load_digits"]


@dataclass(frozen=True)
class Digits:
    """A fixed train/test split of the digits.

    Attributes:
        x_train, x_test: float32 ``[N, 64]`` pixel intensities scaled to ``[0, 1]``.
        y_train, y_test: int32 ``[N]`` labels 0..9.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits(num_test: int = 297, seed: int = 0) -> Digits:
    """The 1797 digits split into ``1797 - num_test`` training and ``num_test`` test examples.

    The split is a fixed permutation drawn with ``seed``.

    Raises:
        ImportError: scikit-learn is missing (install the ``elimgym[rad]`` extra).
        ValueError: ``num_test`` leaves no training or no test example.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError as err:
        raise ImportError("the randomized-AD studies need scikit-learn: pip install 'elimgym[rad]'") from err
    bunch = sklearn_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int32)
    if not 0 < num_test < len(x):
        raise ValueError(f"num_test must be in 1..{len(x) - 1}, got {num_test}")
    order = np.random.default_rng(seed).permutation(len(x))
    test, train = order[:num_test], order[num_test:]
    return Digits(x[train], y[train], x[test], y[test])


def as_flat(x: np.ndarray) -> np.ndarray:
    """``[N, 64]`` -> ``[N, 64]`` (unchanged): input of the MLP."""
    return x


def as_images(x: np.ndarray) -> np.ndarray:
    """``[N, 64]`` -> ``[N, 8, 8, 1]`` NHWC images: input of the CNN."""
    return x.reshape(-1, 8, 8, 1)


def as_sequences(x: np.ndarray) -> np.ndarray:
    """``[N, 64]`` -> ``[N, 8, 8]``: each digit read row by row (8 steps of 8 pixels), for the RNN."""
    return x.reshape(-1, 8, 8)


FORMATS = {"flat": as_flat, "images": as_images, "sequences": as_sequences}
"""Input format name -> converter from flat ``[N, 64]`` digits."""
