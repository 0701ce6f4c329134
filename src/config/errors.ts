// ConfigError lives beside DataError so data and config share one formatting of problems.
export { ConfigError, type ConfigProblem } from '../data/errors.js';
