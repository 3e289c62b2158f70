"""Our importance-weighted mini-batch k-means (:class:`pcc.c3dgs.vq.VectorQuantizer`) against
scikit-learn's ``MiniBatchKMeans`` and faiss's ``Kmeans``, at equal distortion.

Data: 48-d "SH colour" vectors drawn from a mixture of anisotropic Gaussians (the shape of c3dgs's
colour features). Each method runs with a growing iteration budget; the table shows, per method,
the first budget whose mean squared error over *all* points is within 2 % of the best error any
run reached, and the time it took. Single-threaded for a fair comparison.

Run: ``python -m pcc.bench kmeans [--quick]``; returns the tables ``runs`` and ``time_to_target``
(``time_vs_ours``: a method's time to the target over ours, both measured in this run).
Taught in ``notebooks/03_vector_quantisation.ipynb``.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from pcc.c3dgs.vq import VectorQuantizer, nearest_centroid

OURS = "ours (VQ, EMA)"


def _data(n: int, d: int = 48, modes: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(modes, d)) * np.linspace(2.0, 0.2, d)
    labels = rng.integers(0, modes, n)
    x = centers[labels] + 0.3 * rng.normal(size=(n, d)) * np.linspace(1.0, 0.1, d)
    return x.astype(np.float32)


def _mse(x: np.ndarray, centroids: np.ndarray) -> float:
    return float(nearest_centroid(torch.from_numpy(x), torch.from_numpy(centroids))[1].mean())


def _ours(x, k, steps):
    vq = VectorQuantizer(k=k, steps=steps, batch_size=4096, init="kmeans++", seed=0)
    vq.fit(torch.from_numpy(x))
    return vq.centroids.numpy()


def _sklearn(x, k, steps):
    from sklearn.cluster import MiniBatchKMeans

    km = MiniBatchKMeans(
        n_clusters=k,
        batch_size=4096,
        max_iter=steps,
        n_init=1,
        random_state=0,
        max_no_improvement=None,
    )
    return km.fit(x).cluster_centers_.astype(np.float32)


def _faiss(x, k, steps):
    import faiss

    km = faiss.Kmeans(x.shape[1], k, niter=steps, seed=0, verbose=False)
    km.train(x)
    return km.centroids


def main(quick: bool = False) -> dict[str, list[dict]]:
    """Print the runs and the time each method needs to reach the target; return both tables."""
    old_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(quick)
    finally:
        torch.set_num_threads(old_threads)


def _run(quick: bool) -> dict[str, list[dict]]:
    try:
        import faiss

        faiss.omp_set_num_threads(1)
        have_faiss = True
    except ImportError:  # pragma: no cover - optional
        have_faiss = False
    n, k = (8000, 64) if quick else (40000, 256)
    x = _data(n)
    budgets = {
        OURS: (_ours, [10, 25, 50, 100, 200]),
        "sklearn MiniBatchKMeans": (_sklearn, [1, 3, 10, 30]),
    }
    if have_faiss:
        budgets["faiss Kmeans (full batch)"] = (_faiss, [2, 5, 10, 25])
    else:
        print("faiss not installed: its rows are skipped")
    runs = {}
    for name, (fn, steps_list) in budgets.items():
        fn(x[:2000], 8, 1)  # warm-up: imports, thread pools, JIT
        runs[name] = []
        for steps in steps_list:
            t = time.perf_counter()
            c = fn(x, k, steps)
            runs[name].append((steps, time.perf_counter() - t, _mse(x, c)))
    best = min(err for r in runs.values() for _, _, err in r)
    target = 1.02 * best
    print(f"N={n}, D={x.shape[1]}, K={k}; target MSE {target:.4f} (best {best:.4f} + 2 %)")
    print(f"{'method':28s} {'iters':>6s} {'time s':>8s} {'MSE':>8s}  reached")
    reached = {}
    run_rows = []
    for name, r in runs.items():
        for steps, secs, err in r:
            ok = err <= target
            print(f"{name:28s} {steps:6d} {secs:8.2f} {err:8.4f}  {'yes' if ok else 'no'}")
            if ok and name not in reached:
                reached[name] = secs
            run_rows.append(
                {"method": name, "n": n, "d": int(x.shape[1]), "k": k, "iters": steps,
                 "seconds": secs, "mse": err, "mse_vs_best": err / best, "reached": ok}
            )  # fmt: skip
    base = reached.get(OURS)
    print("time to reach the target:")
    target_rows = []
    for name in runs:
        secs = reached.get(name)
        if secs is None:
            print(f"  {name:28s} did not reach the target with the budgets tried")
        else:
            rel = f" ({secs / base:.2f}x ours)" if base else ""
            print(f"  {name:28s} {secs:8.2f} s{rel}")
        target_rows.append(
            {
                "method": name,
                "target_mse": target,
                "best_mse": min(err for _, _, err in runs[name]),
                "seconds_to_target": secs,
                "time_vs_ours": secs / base if (secs is not None and base) else None,
            }
        )
    return {"runs": run_rows, "time_to_target": target_rows}
