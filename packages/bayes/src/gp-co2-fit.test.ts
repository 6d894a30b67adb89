import { loadCo2 } from '@x/datasets';
import { loadFixture } from '@x/test-utils';
import { GaussianProcessRegressor } from './gp.js';
import { ConstantKernel, ExpSineSquared, RBF, WhiteKernel } from './kernels.js';

// Kept in its own file: one fit of the 741-point CO2 GP (≈ 75 likelihood + gradient
// evaluations) takes ~15–25 s here.
const fx = loadFixture('gp-co2.json');
const co2 = loadCo2();
const CO2_X = Array.from(co2.x);

function kernelII() {
  return new ConstantKernel({ value: 1 })
    .mul(new RBF({ lengthScale: 50 }))
    .add(new ConstantKernel({ value: 0.01 }).mul(new ExpSineSquared({ lengthScale: 1, periodicity: 1 })).mul(new RBF({ lengthScale: 100 })))
    .add(new WhiteKernel({ noiseLevel: 1e-3 }));
}

describe('GaussianProcessRegressor: fitting CO2 kernel ii', () => {
  it('fits CO2 kernel ii from the initial point to an LML at least as high as scikit-learn 1.2.1 (2025.059)', () => {
    // scikit-learn 1.2.1 (fmin_l_bfgs_b, same data, normalize_y, alpha 1e-10) reaches 2025.0594635959883
    // from this start on this machine (see the package README); the fixture stores only the start.
    const gp = new GaussianProcessRegressor({ kernel: kernelII(), normalizeY: true }).fit(CO2_X, co2.y);
    expect(gp.logMarginalLikelihoodValue).toBeGreaterThanOrEqual(2025.0594635959883);
    expect(gp.logMarginalLikelihoodValue).toBeGreaterThan(fx.kernel_ii_at_init.lml_at_init);
    const run = gp.diagnostics.optimizerRuns[0];
    expect(run.converged).toBe(true);
    // The seasonal period is one year.
    const period = gp.fittedKernel.hyperparameters.find((h) => h.name.endsWith('periodicity'))!.value[0];
    expect(Math.abs(period - 1)).toBeLessThan(0.01);
    console.log(`CO2 kernel ii fit: LML ${gp.logMarginalLikelihoodValue} (sklearn 1.2.1: 2025.0594635959883), ${run.iterations} iterations, ${run.evaluations} evaluations; ${gp.fittedKernel}`);
  }, 120_000);
});
