"""Python references for `pnpm bench` (run with Debian's /usr/bin/python3).

Usage: reference.py REQUEST.json  ->  prints one JSON object on the last line of stdout:
  {"versions": {...}, "results": {key: {"seconds": median, "runs": [...], "others_cores": x,
                                       "details": {...}} or {"error": "why"}}}
REQUEST.json: {"cases": [{"key": "...", "args": {...}}, ...]}.

Each reference does the same work as the matching case in ../src/cases/ and follows the recipe
of ../../../shared/reference/speed.py where there is one: numpy with its BLAS at the machine's
default thread count; PyTorch with torch.set_num_threads(2) and OpenBLAS limited to 1 thread
(Debian's torch runs its GEMMs in OpenBLAS; 2 torch threads + 2 OpenBLAS threads oversubscribe
2 cores); the caller runs PyTorch cases with OMP_WAIT_POLICY=PASSIVE and with the default
and keeps the faster. To add a row: add a function to
REFERENCES under the key its TypeScript case names.
"""
import json
import os
import statistics
import sys
import time

_CLK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _busy_seconds():
    try:
        with open("/proc/stat") as f:
            v = [int(t) for t in f.readline().split()[1:9]]
        return (sum(v) - v[3] - v[4]) / _CLK
    except OSError:
        return None


def _self_cpu():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(fn, repeats=5, warmup=1):
    """Median wall time of `repeats` runs after `warmup` untimed runs, and the cores others used."""
    for _ in range(warmup):
        fn()
    b0, s0, w0 = _busy_seconds(), _self_cpu(), time.perf_counter()
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    wall = time.perf_counter() - w0
    b1 = _busy_seconds()
    others = None
    if b0 is not None and b1 is not None:
        others = round(max(0.0, (b1 - b0) - (_self_cpu() - s0)) / max(wall, 1e-9), 3)
    return {"seconds": statistics.median(runs), "runs": runs, "others_cores": others}


def _blas_threads():
    try:
        from threadpoolctl import threadpool_info
        return [d.get("num_threads") for d in threadpool_info() if d.get("user_api") == "blas"]
    except Exception:  # threadpoolctl missing: not an error, just unknown
        return None


def numpy_matmul_f32(args):
    import numpy as np
    n = int(args.get("n", 1024))
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    inner = 10  # one call is ~10 ms: time 10 per run for a steadier figure
    r = timed(lambda: [a @ b for _ in range(inner)], repeats=5, warmup=1)
    r["seconds"] /= inner
    r["runs"] = [t / inner for t in r["runs"]]
    r["details"] = {"gflops": 2 * n ** 3 / r["seconds"] / 1e9, "blas_threads": _blas_threads(), "inner_loop": inner}
    return r


def numpy_cholesky_f64(args):
    import numpy as np
    n = int(args.get("n", 2000))
    x = np.linspace(0.0, 10.0, n)
    K = np.exp(-0.5 * (x[:, None] - x[None, :]) ** 2) + 0.1 * np.eye(n)  # same matrix as cases/cholesky.ts
    r = timed(lambda: np.linalg.cholesky(K), repeats=5, warmup=1)
    r["details"] = {"gflops": n ** 3 / 3 / r["seconds"] / 1e9, "blas_threads": _blas_threads()}
    return r


def torch_mlp_epoch(args):
    import numpy as np
    import torch
    import torch.nn as nn
    try:
        from threadpoolctl import threadpool_limits
        blas = threadpool_limits(1, user_api="blas")
    except ImportError:
        blas = None  # then OPENBLAS_NUM_THREADS=1 from the caller does the same
    n = int(args["n"])
    X = torch.from_numpy(np.fromfile(args["images"], dtype=np.float32).reshape(n, 784))
    y = torch.from_numpy(np.fromfile(args["labels"], dtype=np.int64))
    batch, lr, epochs = int(args["batch"]), float(args["lr"]), int(args["epochs"])
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    lossf = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    losses = []

    def epoch():
        perm = torch.randperm(n, generator=gen)
        tot = 0.0
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = lossf(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
            tot += float(loss) * len(idx)  # read the loss each batch, as our fit() does
        losses.append(tot / n)

    r = timed(epoch, repeats=epochs, warmup=1)
    threads = torch.get_num_threads()  # read before restoring: threadpoolctl's restore resets OpenMP too
    if blas is not None:
        blas.restore_original_limits()
    r["details"] = {"torch_threads": threads, "openblas_threads": 1,
                    "train_loss_per_epoch": losses, "samples_per_second": n / r["seconds"]}
    return r


def sklearn_gp_exact(args):
    """Same work as ../src/cases/gp.ts: fixed RBF + White (optimizer=None), fit + predict(return_std)."""
    import numpy as np
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, WhiteKernel
    x = np.asarray(args["x"], dtype=np.float64)[:, None]
    y = np.asarray(args["y"], dtype=np.float64)
    xs = np.asarray(args["xs"], dtype=np.float64)[:, None]
    kernel = RBF(float(args["lengthScale"])) + WhiteKernel(float(args["noiseLevel"]))
    out = {}

    def run():
        g = GaussianProcessRegressor(kernel=kernel, optimizer=None).fit(x, y)
        out["std"] = g.predict(xs, return_std=True)[1]
        out["lml"] = g.log_marginal_likelihood_value_

    r = timed(run, repeats=5, warmup=1)
    s = out["std"]
    r["details"] = {"logMarginalLikelihood": float(out["lml"]), "stdMean": float(s.mean()), "std0": float(s[0]),
                    "stdMid": float(s[len(s) // 2]), "blas_threads": _blas_threads()}
    return r


def _torch_maml_sinusoid(args, first_order):
    """Same work as ../src/cases/maml.ts: one MAML meta-iteration (25 sinusoid tasks, K = 10 support
    and 10 query points, MLP 1-40-40-1 ReLU, 1 inner SGD step α = 0.01, Adam 1e-3 outer) on our tasks
    and from our initial weights, written functionally as in the MAML paper's code:
    torch.autograd.grad(create_graph=True) for second order, create_graph=False for first order.
    Memory: one more meta-iteration under torch.profiler(profile_memory=True); the peak of the
    CPU allocator's allocated-minus-freed bytes (its "[memory]" events in time order) above the start."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    try:
        from threadpoolctl import threadpool_limits
        blas = threadpool_limits(1, user_api="blas")
    except ImportError:
        blas = None  # then OPENBLAS_NUM_THREADS=1 from the caller does the same
    torch.set_num_threads(2)
    iters, tasks = int(args["iters"]), int(args["metaBatch"])
    ks, kq = int(args["kSupport"]), int(args["kQuery"])
    alpha, warmup, repeats = float(args["alpha"]), int(args["warmup"]), int(args["repeats"])

    def data(key, k):
        return torch.from_numpy(np.asarray(args[key], dtype=np.float32).reshape(iters, tasks, k, 1))

    xs, ys, xq, yq = data("xs", ks), data("ys", ks), data("xq", kq), data("yq", kq)
    params = [torch.tensor(np.asarray(p["values"], dtype=np.float32).reshape(p["shape"])).requires_grad_()
              for p in args["params"]]  # Linear weight [in, out], bias [out], per layer
    if len(params) % 2 != 0:
        raise ValueError("expected (weight, bias) pairs")
    opt = torch.optim.Adam(params, lr=float(args["outerLr"]))
    n_layers = len(params) // 2

    def forward(ps, x):
        h = x
        for i in range(n_layers):
            h = torch.addmm(ps[2 * i + 1], h, ps[2 * i])
            if i + 1 < n_layers:
                h = torch.relu(h)
        return h

    losses = []
    it = [0]

    def meta_iteration():
        i = it[0]
        it[0] += 1
        opt.zero_grad(set_to_none=True)
        total = 0.0
        for t in range(tasks):
            inner = F.mse_loss(forward(params, xs[i, t]), ys[i, t])
            grads = torch.autograd.grad(inner, params, create_graph=not first_order)
            fast = [p - alpha * g for p, g in zip(params, grads)]
            total = total + F.mse_loss(forward(fast, xq[i, t]), yq[i, t])
        loss = total / tasks
        loss.backward()
        opt.step()
        losses.append(float(loss))

    r = timed(meta_iteration, repeats=repeats, warmup=warmup)
    threads = torch.get_num_threads()  # read before restoring: threadpoolctl's restore resets OpenMP too
    memory = {"measured_with": "torch.profiler profile_memory: peak of CPU allocator bytes (allocated - freed) above the start of the iteration"}
    try:
        from torch.profiler import profile, ProfilerActivity
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            meta_iteration()
        events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
        events.sort(key=lambda e: e.start_us())  # stable: ties keep the recorded order
        live = peak = 0
        for e in events:
            live += e.nbytes()
            peak = max(peak, live)
        memory.update({"peak_bytes_above_start": peak, "new_bytes": live, "allocator_events": len(events)})
    except Exception as e:  # noqa: BLE001 - the timing stands without the memory figure
        memory["error"] = f"{type(e).__name__}: {e}"
    if blas is not None:
        blas.restore_original_limits()
    r["details"] = {"torch_threads": threads, "openblas_threads": 1, "first_order": first_order,
                    "meta_losses": losses, "tasks_per_second": tasks / r["seconds"], "memory": memory}
    return r


def torch_maml_sinusoid_second_order(args):
    return _torch_maml_sinusoid(args, first_order=False)


def torch_maml_sinusoid_first_order(args):
    return _torch_maml_sinusoid(args, first_order=True)


REFERENCES = {
    "numpy-matmul-f32": numpy_matmul_f32,
    "numpy-cholesky-f64": numpy_cholesky_f64,
    "torch-mlp-epoch": torch_mlp_epoch,
    "sklearn-gp-exact": sklearn_gp_exact,
    "torch-maml-sinusoid-second-order": torch_maml_sinusoid_second_order,
    "torch-maml-sinusoid-first-order": torch_maml_sinusoid_first_order,
}


def versions():
    v = {"python": sys.version.split()[0], "executable": sys.executable}
    for name in ("numpy", "torch", "sklearn", "threadpoolctl"):
        try:
            v[name] = __import__(name).__version__
        except Exception as e:  # noqa: BLE001 - report what is missing, do not fail
            v[name] = None
            v[name + "_error"] = f"{type(e).__name__}: {e}"
    return v


def main():
    with open(sys.argv[1]) as f:
        request = json.load(f)
    results = {}
    for case in request["cases"]:
        key = case["key"]
        fn = REFERENCES.get(key)
        if fn is None:
            results[key] = {"error": f"no reference named '{key}' in reference.py"}
            continue
        try:
            results[key] = fn(case.get("args") or {})
        except ImportError as e:
            results[key] = {"error": f"missing Python package: {e}"}
        except Exception as e:  # noqa: BLE001 - one failing reference must not hide the others
            results[key] = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps({"versions": versions(), "results": results}))


if __name__ == "__main__":
    main()
