"""Our importance-weighted k-means (:mod:`pcc.c3dgs.vq`: the c3dgs EMA update and the Lloyd
algorithm) against scikit-learn's ``MiniBatchKMeans`` and faiss's ``Kmeans``, at equal distortion.

Cases (one thread, all methods side by side in one run):

* ``synthetic D=48 K=256``: 40,000 48-d "SH colour" vectors from a mixture of anisotropic
  Gaussians (the shape of c3dgs's colour features);
* ``synthetic D=6 K=1024``: 100,000 6-d vectors from the same kind of mixture (shape features);
* ``still_life colour`` / ``still_life shape``: the bundled scene's real colour (48-d SH) and
  shape (6-d normalised covariance) features, weighted by their sensitivity (the importance-weighted
  MSE), with the codebook size of the ``default`` preset. The features and sensitivities are cached
  in ``output/cache/kmeans_still_life.npz`` (computing them takes ~10 s).

Each method runs with a growing iteration budget. The target of a case is scikit-learn's best
(weighted) MSE + 2 %; the table ``time_to_target`` shows, per method, the time of the first budget
that reached it, and ``time_vs_lloyd``: that time over the Lloyd algorithm's (both measured in this
run). ``--quick`` uses small synthetic cases and a subsample of the scene.

Run: ``python -m pcc.bench kmeans [--quick]``; returns the tables ``runs`` and ``time_to_target``.
Taught in ``notebooks/03_vector_quantisation.ipynb``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from pcc.c3dgs.vq import VectorQuantizer, nearest_centroid

EMA = "ours EMA (c3dgs update)"
LLOYD = "ours Lloyd"
SKLEARN = "sklearn MiniBatchKMeans"
FAISS = "faiss Kmeans"
SCENE = Path("input_models/still_life/model")
CACHE = Path("output/cache/kmeans_still_life.npz")


def _data(n: int, d: int = 48, modes: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(modes, d)) * np.linspace(2.0, 0.2, d)
    labels = rng.integers(0, modes, n)
    x = centers[labels] + 0.3 * rng.normal(size=(n, d)) * np.linspace(1.0, 0.1, d)
    return x.astype(np.float32)


def _mse(x: np.ndarray, centroids: np.ndarray, w: np.ndarray | None = None) -> float:
    """(Weighted) mean squared distance to the nearest centroid."""
    dist = nearest_centroid(torch.from_numpy(x), torch.from_numpy(centroids))[1].double().numpy()
    if w is None:
        return float(dist.mean())
    return float((w * dist).sum() / w.sum())


def _ema(x, w, k, steps):
    vq = VectorQuantizer(k=k, steps=steps, batch_size=4096, init="kmeans++", seed=0)
    vq.fit(torch.from_numpy(x), None if w is None else torch.from_numpy(w))
    return vq.centroids.numpy()


def _lloyd(x, w, k, iters):
    vq = VectorQuantizer(k=k, algorithm="lloyd", max_iter=iters, seed=0)
    vq.fit(torch.from_numpy(x), None if w is None else torch.from_numpy(w))
    return vq.centroids.numpy()


def _sklearn(x, w, k, iters):
    from sklearn.cluster import MiniBatchKMeans

    km = MiniBatchKMeans(
        n_clusters=k,
        batch_size=4096,
        max_iter=iters,
        n_init=1,
        random_state=0,
        max_no_improvement=None,
    )
    return km.fit(x, sample_weight=w).cluster_centers_.astype(np.float32)


def _faiss(x, w, k, iters):
    import faiss

    km = faiss.Kmeans(x.shape[1], k, niter=iters, seed=0, verbose=False, min_points_per_centroid=1)
    km.train(x, weights=w)
    return km.centroids


def scene_features(path: Path = SCENE, cache: Path = CACHE) -> dict[str, np.ndarray] | None:
    """Colour / shape features and sensitivities of the bundled scene (cached), or None."""
    if cache.is_file():
        with np.load(cache) as z:
            return {key: z[key] for key in z.files}
    if not path.exists():
        return None
    from pcc.c3dgs import stages
    from pcc.c3dgs.features import color_features, shape_features
    from pcc.c3dgs.pipeline import background_for, scene_cameras
    from pcc.c3dgs.presets import get_preset
    from pcc.io.splat_formats import load_splat_any

    model = load_splat_any(path)
    cfg = get_preset("default")
    train, _, _ = scene_cameras(model, path, None, cfg, background_for(path, None))
    sens = stages.sensitivity(model, train, cfg, progress=False)
    feats = {
        "color": color_features(model).detach().float().numpy(),
        "shape": shape_features(model)[0].detach().float().numpy(),
        "color_w": sens.color_importance.double().numpy(),
        "shape_w": sens.shape_importance.double().numpy(),
        "k_color": np.int64(stages.codebook_size(len(model), cfg.color)),
        "k_shape": np.int64(stages.codebook_size(len(model), cfg.shape)),
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, **feats)
    tmp.replace(cache)
    return feats


def _cases(quick: bool) -> list[tuple[str, np.ndarray, np.ndarray | None, int]]:
    if quick:
        cases = [("synthetic D=48 K=64", _data(8000), None, 64)]
        cases.append(("synthetic D=6 K=256", _data(20000, d=6), None, 256))
    else:
        cases = [("synthetic D=48 K=256", _data(40000), None, 256)]
        cases.append(("synthetic D=6 K=1024", _data(100000, d=6), None, 1024))
    feats = scene_features()
    if feats is None:
        print(f"{SCENE} not found: the scene cases are skipped")
        return cases
    sub = slice(None, None, 4) if quick else slice(None)
    for attr in ("color", "shape"):
        x = np.ascontiguousarray(feats[attr][sub], dtype=np.float32)
        w = feats[f"{attr}_w"][sub].astype(np.float32)
        w = w / w.max()
        k = int(feats[f"k_{attr}"]) // (4 if quick else 1)
        cases.append((f"still_life {attr} D={x.shape[1]} K={k}", x, w, k))
    return cases


def main(quick: bool = False) -> dict[str, list[dict]]:
    """Print the runs and the time each method needs to reach the target; return both tables."""
    old_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(quick)
    finally:
        torch.set_num_threads(old_threads)


def _run(quick: bool) -> dict[str, list[dict]]:
    methods = {
        EMA: (_ema, [25, 100] if quick else [25, 100, 200]),
        LLOYD: (_lloyd, [1, 2, 3, 5, 10, 30]),
    }
    try:
        import sklearn.cluster  # noqa: F401

        methods[SKLEARN] = (_sklearn, [1, 3, 10, 30])
    except ImportError:  # pragma: no cover - optional
        print("scikit-learn not installed: its rows are skipped (target: best of the others)")
    try:
        import faiss

        faiss.omp_set_num_threads(1)
        methods[FAISS] = (_faiss, [2, 5, 10, 25])
    except ImportError:  # pragma: no cover - optional
        print("faiss not installed: its rows are skipped")
    warm = _data(2000)
    for fn, _ in methods.values():
        fn(warm, None, 8, 1)  # warm-up: imports, thread pools
    run_rows, target_rows = [], []
    for case, x, w, k in _cases(quick):
        runs = {}
        for name, (fn, budgets) in methods.items():
            runs[name] = []
            for iters in budgets:
                t = time.perf_counter()
                c = fn(x, w, k, iters)
                runs[name].append((iters, time.perf_counter() - t, _mse(x, c, w)))
        ref = runs.get(SKLEARN) or [r for rs in runs.values() for r in rs]
        target = 1.02 * min(err for _, _, err in ref)
        best = min(err for rs in runs.values() for _, _, err in rs)
        n, d = x.shape
        kind = "weighted MSE" if w is not None else "MSE"
        print(f"\n{case} (N={n}): target {kind} {target:.5g} (scikit-learn's best + 2 %)")
        print(f"{'method':26s} {'iters':>6s} {'time s':>8s} {kind:>13s}  reached")
        reached = {}
        for name, rs in runs.items():
            for iters, secs, err in rs:
                ok = err <= target
                print(f"{name:26s} {iters:6d} {secs:8.2f} {err:13.5g}  {'yes' if ok else 'no'}")
                if ok and name not in reached:
                    reached[name] = secs
                run_rows.append(
                    {"case": case, "method": name, "n": n, "d": d, "k": k, "iters": iters,
                     "seconds": secs, "mse": err, "mse_vs_best": err / best, "reached": ok}
                )  # fmt: skip
        base = reached.get(LLOYD)
        print("time to reach the target:")
        for name, rs in runs.items():
            secs = reached.get(name)
            ratio = secs / base if (secs is not None and base) else None
            if secs is None:
                print(f"  {name:26s}      never (with the budgets tried)")
            else:
                rel = f"  ({ratio:.2f}x ours Lloyd)" if ratio is not None else ""
                print(f"  {name:26s} {secs:8.2f} s{rel}")
            target_rows.append(
                {
                    "case": case,
                    "method": name,
                    "target_mse": target,
                    "best_mse": min(err for _, _, err in rs),
                    "seconds_to_target": secs,
                    "time_vs_lloyd": ratio,
                }
            )
    return {"runs": run_rows, "time_to_target": target_rows}
