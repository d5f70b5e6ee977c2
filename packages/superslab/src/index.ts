export const SUPERSLAB_PENDING = true;
