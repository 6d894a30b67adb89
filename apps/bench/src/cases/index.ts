/** Every benchmark case; importing a module registers its cases (in table order). */
import './matmul.js';
import './mlp.js';
import './cholesky.js';
import './gp.js';
import './maml.js';
