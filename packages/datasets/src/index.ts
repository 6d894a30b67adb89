export { loadMnist, loadMnistSplit, mnistSubset } from './mnist.js';
export type { Mnist, MnistSplit, MnistSubset } from './mnist.js';
export { loadCo2 } from './co2.js';
export type { Co2 } from './co2.js';
export { loadCars } from './cars.js';
export type { Cars } from './cars.js';
export { DatasetError } from './errors.js';
