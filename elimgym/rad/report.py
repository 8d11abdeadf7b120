"""Writing the study's results: CSV files, PNG plots and a markdown page (all generated)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

__all__ = ["write_report"]


def _write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, columns)
        writer.writeheader()
        writer.writerows(rows)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _variance_figures(rows: list[dict], figures: Path, prefix: str) -> list[str]:
    plt = _pyplot()
    written = []
    for model, point in sorted({(r["model"], r["point"]) for r in rows}):
        subset = [r for r in rows if r["model"] == model and r["point"] == point]
        layer_names = list(dict.fromkeys(r["layer"] for r in subset))
        fig, axes = plt.subplots(1, len(layer_names), figsize=(4.2 * len(layer_names), 3.6), squeeze=False)
        for ax, layer in zip(axes[0], layer_names):
            lines = [r for r in subset if r["layer"] == layer]
            for method in dict.fromkeys(r["method"] for r in lines):
                points = sorted((r["residual_bytes"], r["mse"]) for r in lines if r["method"] == method)
                style = {"exact": "k*", "reduced-batch": "k--o"}.get(method, "-o")
                ax.plot(*zip(*points), style, label=method, markersize=4)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{model} {layer} ({point})")
            ax.set_xlabel("residual memory per step (bytes)")
            ax.set_ylabel("gradient MSE vs full data")
        axes[0][0].legend(fontsize=7)
        fig.tight_layout()
        name = f"{prefix}variance_{model}_{point}.png"
        fig.savefig(figures / name, dpi=110)
        plt.close(fig)
        written.append(name)
    return written


def _training_figures(rows: list[dict], figures: Path, prefix: str) -> list[str]:
    plt = _pyplot()
    written = []
    for model in dict.fromkeys(r["model"] for r in rows):
        subset = [r for r in rows if r["model"] == model]
        fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(9, 3.6))
        for method, batch in dict.fromkeys((r["method"], r["batch"]) for r in subset):
            curve = [r for r in subset if r["method"] == method and r["batch"] == batch]
            label = f"{method} B={batch} ({curve[0]['residual_bytes'] / 1024:.0f} KiB)"
            loss_ax.plot([r["step"] for r in curve], [r["train_loss"] for r in curve], label=label)
            acc_ax.plot([r["step"] for r in curve], [r["test_accuracy"] for r in curve], label=label)
        loss_ax.set_yscale("log")
        loss_ax.set_xlabel("step")
        loss_ax.set_ylabel("training loss")
        acc_ax.set_xlabel("step")
        acc_ax.set_ylabel("test accuracy")
        loss_ax.set_title(f"{model}: training at fixed memory")
        acc_ax.legend(fontsize=7)
        fig.tight_layout()
        name = f"{prefix}training_{model}.png"
        fig.savefig(figures / name, dpi=110)
        plt.close(fig)
        written.append(name)
    return written


def _pde_figure(rows: list[dict], figures: Path, prefix: str) -> list[str]:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for keep in sorted({r["keep"] for r in rows}, reverse=True):
        curve = [r for r in rows if r["keep"] == keep]
        ax.plot([r["iteration"] for r in curve], [r["loss"] for r in curve], label="exact" if keep == 1.0 else f"keep {keep:g}")
    ax.set_yscale("log")
    ax.set_xlabel("Adam iteration")
    ax.set_ylabel("loss L(theta)")
    ax.set_title("reaction-diffusion control")
    ax.legend(fontsize=7)
    fig.tight_layout()
    name = f"{prefix}pde_loss.png"
    fig.savefig(figures / name, dpi=110)
    plt.close(fig)
    return [name]


def _configuration(config: dict[str, Any]) -> str:
    """One paragraph saying what was run (the parts of ``config`` that the tables depend on)."""
    return (
        f"Variance: models {', '.join(config['models'])}, samplers {', '.join(config['labels'])}, keep fractions "
        f"{', '.join(f'{k:g}' for k in config['keeps'])}, points {', '.join(config['points'])}, minibatch {config['batch']}, "
        f"{config['reps']} draws per estimate. Training: {', '.join(config['train_models'])}, {config['train_steps']} Adam steps, "
        f"keep {config['train_keep']:g}. PDE: {config['pde']['grid']}x{config['pde']['grid']} grid, {config['pde']['steps']} steps, "
        f"{config['pde_iterations']} Adam iterations."
    )


def _markdown(results: dict[str, Any], summary: dict[str, Any], figures: list[str], prefix: str) -> str:
    config = results["config"]
    out = [
        f"# Randomized AD: results ({config['name']} study)",
        "",
        f"Generated by `elimgym rad study{' --quick' if config['name'] == 'quick' else ''}`; do not edit by hand. "
        "See [rad.md](rad.md) for the methods. Data (CSV, summary JSON) and figures: `rad/" + prefix + "*`.",
        "",
        _configuration(config),
        "",
        "## Targets",
        "",
        "| target | reached |",
        "|---|---|",
    ]
    out += [f"| {name} | {json.dumps(value)} |" for name, value in summary["targets"].items()]
    if "memory" in results:
        out += ["", "## Measured memory", "",
                ("Residual bytes: what reverse mode saves beyond the arguments (`jax.ad_checkpoint` residuals). "
                 "Compiled temp: XLA's scratch memory of the compiled gradient program. Savings are against the lean exact baseline."),
                "", "| model | method | keep | batch | residual bytes | saving | compiled temp bytes | saving |", "|---|---|---|---|---|---|---|---|"]
        out += [f"| {r['model']} | {r['method']} | {r['keep']:g} | {r['batch']} | {r['residual_bytes']:,} | {r['residual_saving']:.1f}x | "
                f"{r['compiled_temp_bytes']:,} | {r['compiled_saving']:.1f}x |" for r in results["memory"]]
    if "unbiased" in results:
        out += ["", "## Unbiasedness (Hotelling T² on random projections)", "",
                "| estimator | expected | samples | relative bias ± s.e. | p-value | verdict |", "|---|---|---|---|---|---|"]
        for name, r in results["unbiased"].items():
            verdict = "unbiased" if r["unbiased"] else "biased"
            out.append(f"| {name} | {r['expected']} | {r['num_samples']} | {r['relative_bias']:.4f} ± {r['relative_std_error']:.4f} | {r['p_value']:.3g} | {verdict}{'' if r['as_expected'] else ' (UNEXPECTED)'} |")
    if "variance" in results:
        out += ["", "## Gradient variance at equal memory", "",
                ("MSE of each layer's weight gradient against the full-data gradient, divided by the MSE of the exact "
                 "gradient of the reduced minibatch with the same measured residual memory (< 1: the sampled estimator is better)."), ""]
        ratios = summary["mse_ratio_vs_reduced_batch"]
        keys = sorted({k.rsplit("/", 1)[0] for k in ratios})
        columns = sorted({k.rsplit("/", 1)[1] for k in ratios}, key=lambda c: (c.split("@")[0], -float(c.split("@")[1])))
        out += ["| model/point/layer | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
        out += [f"| {k} | " + " | ".join(f"{ratios.get(f'{k}/{c}', float('nan')):.2f}" for c in columns) + " |" for k in keys]
    if "training" in results:
        out += ["", "## Training at fixed memory", "", "| model | method | batch | residual bytes | final training loss | final test accuracy |", "|---|---|---|---|---|---|"]
        finals = {}
        for r in results["training"]:
            finals[(r["model"], r["method"], r["batch"])] = r
        out += [f"| {m} | {meth} | {b} | {r['residual_bytes']:,} | {r['train_loss']:.4f} | {r['test_accuracy']:.3f} |" for (m, meth, b), r in finals.items()]
    if "pde" in results:
        out += ["", "## Reaction-diffusion control", "", "| keep | final loss | ratio to exact |", "|---|---|---|"]
        for key, loss in summary["pde_final_loss"].items():
            out.append(f"| {key[4:]} | {loss:.6f} | {summary.get('pde_final_loss_ratio', {}).get(key, float('nan')):.4f} |")
    if figures:
        out += ["", "## Figures", ""] + [f"![{name}](rad/{name})" for name in figures]
    return "\n".join(out) + "\n"


def write_report(results: dict[str, Any], summary: dict[str, Any], out: str | Path) -> list[Path]:
    """Write CSVs, plots and the summary JSON into ``out/rad/`` and the markdown page
    ``out/<prefix>results.md`` (prefix ``rad_``, or ``rad_quick_`` for the quick study).

    Returns the written paths.
    """
    out = Path(out)
    prefix = "rad_" if results["config"]["name"] == "full" else f"rad_{results['config']['name']}_"
    folder = out / "rad"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for part in ("memory", "variance", "training", "pde"):
        if part in results:
            _write_csv(folder / f"{prefix}{part}.csv", results[part])
            written.append(folder / f"{prefix}{part}.csv")
    if "unbiased" in results:
        _write_csv(folder / f"{prefix}unbiased.csv", [{"estimator": n, **r} for n, r in results["unbiased"].items()])
        written.append(folder / f"{prefix}unbiased.csv")
    names = []
    if "variance" in results:
        names += _variance_figures(results["variance"], folder, prefix)
    if "training" in results:
        names += _training_figures(results["training"], folder, prefix)
    if "pde" in results:
        names += _pde_figure(results["pde"], folder, prefix)
    written += [folder / n for n in names]
    (folder / f"{prefix}summary.json").write_text(json.dumps(summary, indent=1))
    page = out / f"{prefix}results.md"
    page.write_text(_markdown(results, summary, names, prefix))
    return written + [folder / f"{prefix}summary.json", page]
