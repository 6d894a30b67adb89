/** @x/meta — placeholder until built. */
export {};
