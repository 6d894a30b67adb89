"""Reference kernel matrices and a composite GP (LML, gradient, predictions) from scikit-learn 1.2.1
(Debian python3-sklearn). Run: /usr/bin/python3 sklearn_kernels.py > sklearn-kernels.json"""
import numpy as np, json
from sklearn.gaussian_process.kernels import RBF, Matern, RationalQuadratic as RQ, ExpSineSquared as ES, DotProduct as DP, ConstantKernel as C, WhiteKernel as W
from sklearn.gaussian_process import GaussianProcessRegressor as GPR
X = np.array([[0.0, 1.0], [0.5, -1.0], [2.0, 0.3]])
ks = {
 'rbf': RBF(1.3), 'rbf_ard': RBF([0.7, 2.0]), 'm12': Matern(0.8, nu=0.5), 'm32': Matern([0.8, 1.7], nu=1.5), 'm52': Matern(1.1, nu=2.5),
 'rq': RQ(length_scale=0.9, alpha=0.6), 'es': ES(length_scale=1.2, periodicity=2.5), 'dp': DP(sigma_0=0.7), 'c': C(2.5), 'w': W(0.3),
}
out = {k: [list(map(float, r)) for r in (v(X[:, :1]) if k == 'es' else v(X))] for k, v in ks.items()}  # ExpSineSquared: 1-D only (PSD)
# a composite GP: LML and gradient on small data
rng = np.random.RandomState(0)
Xt = rng.uniform(-3, 3, (12, 2)); yt = np.sin(Xt[:, 0]) + 0.3 * Xt[:, 1] ** 2 + 0.05 * rng.randn(12)
k = C(1.5) * Matern([1.0, 2.0], nu=2.5) + RQ(length_scale=0.9, alpha=0.6) * DP(sigma_0=0.7) + W(0.05)
g = GPR(kernel=k, optimizer=None, normalize_y=True).fit(Xt, yt)
l, gr = g.log_marginal_likelihood(k.theta, eval_gradient=True)
Xs = np.array([[0.1, 0.2], [2.5, -2.9]])
m, s = g.predict(Xs, return_std=True)
out['composite'] = {'X': Xt.tolist(), 'y': yt.tolist(), 'theta': k.theta.tolist(), 'names': [h.name for h in k.hyperparameters], 'lml': float(l), 'grad': gr.tolist(), 'Xs': Xs.tolist(), 'mean': m.tolist(), 'std': s.tolist()}
print(json.dumps(out))
