/** The jobs the worker runs; each domain module registers its own here. */
export {};
