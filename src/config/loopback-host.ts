/** Loopback host names and addresses (`localhost`, `*.localhost`, `127.0.0.0/8`, `::1`), as URL hostnames or listening addresses. */
const LOOPBACK_HOST = /^(localhost|[a-z0-9-]+\.localhost|127(\.\d{1,3}){3}|\[::1\]|::1)$/i

/** True when `host` names the local machine only. */
export const isLoopbackHost = (host: string): boolean => LOOPBACK_HOST.test(host)
