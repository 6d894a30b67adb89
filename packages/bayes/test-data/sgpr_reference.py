"""Reference values for the sparse GP (Titsias 2009, collapsed bound) in sparse.test.ts.

Run: /usr/bin/python3 sgpr_reference.py  ->  writes sgpr-reference.json beside this file.

Dense, textbook formulas with numpy (no factorisation tricks, so it is an independent check of
the streamed, Cholesky-based form in ../src/sparse.ts):
  Q = Knm Kmm^-1 Kmn,  ELBO = log N(y | 0, Q + s2 I) - tr(Knn - Q) / (2 s2)
  Sigma = (Kmm + Kmn Knm / s2)^-1
  mean(x*) = K*m Sigma Kmn y / s2
  var(x*)  = k** - K*m Kmm^-1 Km* + K*m Sigma Km*   (+ s2 with noise)
Kernel: ConstantKernel(1.3) * RBF(length_scale=[0.7, 2.0]) (ARD, 2-D inputs); s2 = 0.05;
y is also normalised (mean, population std) to check normalizeY.
"""
import json
import os

import numpy as np

rng = np.random.default_rng(0)
N, M = 40, 7
X = rng.uniform(0, 5, (N, 2))
y = np.sin(X[:, 0]) + 0.3 * X[:, 1] + 0.2 * rng.standard_normal(N)
Z = rng.uniform(0, 5, (M, 2))
Xs = np.array([[0.5, 0.5], [2.5, 1.0], [4.0, 4.5], [9.0, 9.0]])
amp, ls, s2 = 1.3, np.array([0.7, 2.0]), 0.05


def k(A, B):
    d = (A[:, None, :] - B[None, :, :]) / ls
    return amp * np.exp(-0.5 * (d ** 2).sum(-1))


def sgpr(yv):
    Kmm, Knm, Knn = k(Z, Z), k(X, Z), k(X, X)
    Kmm_inv = np.linalg.inv(Kmm)
    Q = Knm @ Kmm_inv @ Knm.T
    C = Q + s2 * np.eye(N)
    sign, logdet = np.linalg.slogdet(C)
    assert sign > 0
    lml_q = -0.5 * yv @ np.linalg.solve(C, yv) - 0.5 * logdet - 0.5 * N * np.log(2 * np.pi)
    elbo = lml_q - np.trace(Knn - Q) / (2 * s2)
    Sigma = np.linalg.inv(Kmm + Knm.T @ Knm / s2)
    Ksm = k(Xs, Z)
    mean = Ksm @ Sigma @ Knm.T @ yv / s2
    var_f = amp - np.einsum("ij,jk,ik->i", Ksm, Kmm_inv, Ksm) + np.einsum("ij,jk,ik->i", Ksm, Sigma, Ksm)
    return elbo, mean, var_f


elbo, mean, var_f = sgpr(y)
mu, sd = y.mean(), y.std()
elbo_n, mean_n, var_n = sgpr((y - mu) / sd)
out = {
    "what": __doc__,
    "x": X.tolist(), "y": y.tolist(), "z": Z.tolist(), "xs": Xs.tolist(),
    "amplitude": amp, "length_scale": ls.tolist(), "noise_variance": s2,
    "elbo": float(elbo), "mean": mean.tolist(),
    "std_latent": np.sqrt(var_f).tolist(), "std_with_noise": np.sqrt(var_f + s2).tolist(),
    "normalized": {"elbo": float(elbo_n), "mean": (mean_n * sd + mu).tolist(), "std_with_noise": (np.sqrt(var_n + s2) * sd).tolist()},
    "numpy": np.__version__,
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sgpr-reference.json"), "w") as f:
    json.dump(out, f, indent=1)
print(elbo, mean)
