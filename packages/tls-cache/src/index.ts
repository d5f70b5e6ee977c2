export const TLS_CACHE_PENDING = true;
