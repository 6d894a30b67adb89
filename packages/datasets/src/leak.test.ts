import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMnist, loadMnistSplit, loadCo2, loadCars } from './index.js';

// @x/datasets returns plain typed arrays and never creates tensors, so its "leak test" checks
// the two ways it could still hold or lose memory: the MNIST cache must be one shared, frozen
// object (no copy per call), and the copies it hands out must not alias the cache (a caller
// changing its copy must not change what the next caller gets).

describe('@x/datasets holds no tensors and no growing state', () => {
  it('depends on no tensor library and never loads tfjs', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    expect(Object.keys(pkg.dependencies ?? {})).toEqual(['mnist']);
    loadMnist();
    loadMnistSplit();
    loadCo2();
    loadCars();
    // tfjs-core registers its engine on the global object when it is first imported.
    expect((globalThis as Record<string, unknown>)._tfengine).toBeUndefined();
  });

  it('loadMnist returns the same frozen object and arrays on every call', () => {
    const first = loadMnist();
    for (let i = 0; i < 5; i++) {
      const again = loadMnist();
      expect(again).toBe(first);
      expect(again.images).toBe(first.images);
      expect(again.labels).toBe(first.labels);
      expect(again.split.train).toBe(first.split.train);
    }
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.split)).toBe(true);
    expect(() => {
      'use strict';
      (first as { n: number }).n = 5;
    }).toThrow(TypeError);
    expect(first.n).toBe(10000);
  });

  it('loadMnistSplit, loadCo2 and loadCars return fresh copies that do not alias the cache', () => {
    const m = loadMnist();
    const a = loadMnistSplit();
    const b = loadMnistSplit();
    expect(a.train.images).not.toBe(b.train.images);
    expect(a.train.images.buffer).not.toBe(m.images.buffer);
    const firstPixel = m.images[m.split.train[0] * 784 + 300];
    a.train.images[300] = 123;
    a.train.labels[0] = 99;
    expect(m.images[m.split.train[0] * 784 + 300]).toBe(firstPixel);
    expect(loadMnistSplit().train.images[300]).toBe(firstPixel);
    expect(loadMnistSplit().train.labels[0]).toBe(m.labels[m.split.train[0]]);

    const co2 = loadCo2();
    const y0 = co2.y[0];
    co2.y[0] = -1;
    expect(loadCo2().y[0]).toBe(y0);
    const cars = loadCars();
    const hp0 = cars.horsepower[0];
    cars.horsepower[0] = -1;
    expect(loadCars().horsepower[0]).toBe(hp0);
  });
});
