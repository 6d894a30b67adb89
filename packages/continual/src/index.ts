/** @x/continual — placeholder until built. */
export {};
